"""Our web_connectivity verdicts on OONI's own real measurements (../shared/data/ooni/measurements).
The expected values and every disagreement with OONI's own claim are explained in docs/verdicts.md."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from censorwatch.analysis import analyse

EXPECTED = {
    "20250527233111.802678_ID_webconnectivity_5a37ec909dbf14e3.json": ("anomaly", "http-diff"),
    "bug_351.json": ("anomaly", "http-failure"),
    "bug_352.json": ("confirmed", "dns"),
    "issue-2456_IT_webconnectivity_measurement.json": ("ok", None),
    "report1.json": ("ok", None),
    "report2.json": ("ok", None),
    "requests_none.json": ("anomaly", "dns"),
    "test_keys_none.json": ("failure", None),
    "web_connectivity_b64_hdr.json": ("anomaly", "http-failure"),
    "web_connectivity_b64_incorrect.json": ("ok", None),
    "web_connectivity_ir_fp.json": ("confirmed", "dns"),
    "web_connectivity_no_body.json": ("ok", None),
    "web_connectivity_null.json": ("failure", None),
    "web_connectivity_null2.json": ("ok", None),
    "web_connectivity_odd_hdr.json": ("anomaly", "dns"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_measurement(shared_data: Path, name: str) -> None:
    measurement = json.loads((shared_data / "ooni" / "measurements" / name).read_text("utf-8"))
    verdict = analyse(measurement)
    assert (verdict.verdict, verdict.blocking) == EXPECTED[name], verdict.reason
    if verdict.verdict == "confirmed":
        assert verdict.fingerprint == "ooni.ir_10dot10_ipv4_1"


def test_every_web_connectivity_file_is_covered(shared_data: Path) -> None:
    found = set()
    for path in (shared_data / "ooni" / "measurements").glob("*.json"):
        try:
            document = json.loads(path.read_text("utf-8"))
        except ValueError:
            continue
        if isinstance(document, dict) and document.get("test_name") == "web_connectivity":
            found.add(path.name)
    assert found == set(EXPECTED)
