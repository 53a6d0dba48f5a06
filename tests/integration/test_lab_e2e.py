"""End to end: the real `censorwatch probe` CLI through the lab, then `censorwatch export verdicts`; each case's
verdict and blocking type must be what the lab says the analysis should find."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from censorwatch.lab import Lab
from censorwatch.lab.cases import SPECS

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Run:
    lab: Lab
    rows: dict[str, dict[str, Any]]  # case name -> exported verdict row
    measurements: dict[str, dict[str, Any]]  # case name -> measurement as the probe wrote it
    probe_log: str


def _cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "censorwatch", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    workdir = tmp_path_factory.mktemp("lab-e2e")
    with Lab(workdir) as lab:
        test_list = workdir / "list.csv"
        lab.write_test_list(test_list)
        output, db = workdir / "measurements.jsonl", workdir / "store.duckdb"
        probe = _cli(
            "probe", "--list", str(test_list), "--resolver", lab.resolver, "--test-helper", lab.test_helper_url,
            "--ca-file", str(lab.ca_file), "--source-address", lab.censored_source, "--probe-cc", "RU",
            "--output", str(output), "--db", str(db), "--timeout", "3",
        )  # fmt: skip
        assert probe.returncode == 0, f"probe failed:\n{probe.stdout}\n{probe.stderr}"
        export = _cli("export", "verdicts", "--db", str(db), "--format", "jsonl")
        assert export.returncode == 0, export.stderr
        by_url = {case.url: case.name for case in lab.cases}
        rows = {by_url[row["input"]]: row for row in map(json.loads, export.stdout.splitlines()) if row}
        measurements: dict[str, dict[str, Any]] = {}
        with output.open(encoding="utf-8") as handle:
            for line in handle:
                measurement = json.loads(line)
                measurements[by_url[measurement["input"]]] = measurement
        yield Run(lab, rows, measurements, probe.stdout + probe.stderr)


@pytest.mark.parametrize("spec", SPECS, ids=[spec.name for spec in SPECS])
def test_case_verdict(run: Run, spec: Any) -> None:
    case = run.lab.case(spec.name)
    if case.needs_root and not run.lab.iptables_active:
        pytest.skip("needs root and a working iptables")
    row = run.rows.get(case.name)
    assert row is not None, f"no verdict exported for {case.url}"
    got = (row["verdict"], row["blocking"])
    assert got == (case.expected_verdict, case.expected_blocking), (
        f"{case.name}: expected {case.expected_verdict}/{case.expected_blocking}, got {got}; reason: {row['reason']}"
        f"; test_keys: {json.dumps(run.measurements.get(case.name, {}).get('test_keys'))[:3000]}"
    )


# What OONI Web Connectivity v0.4 itself says (test_keys.blocking, exported as ooni_blocking): TLS failures fold
# into http-failure, and a site down for everyone is blocking=false.
OONI_BLOCKING = {None: "false", "dns": "dns", "tcp_ip": "tcp_ip", "tls": "http-failure",
                 "http-failure": "http-failure", "http-diff": "http-diff"}  # fmt: skip


@pytest.mark.parametrize("spec", SPECS, ids=[spec.name for spec in SPECS])
def test_case_ooni_blocking(run: Run, spec: Any) -> None:
    case = run.lab.case(spec.name)
    if case.needs_root and not run.lab.iptables_active:
        pytest.skip("needs root and a working iptables")
    assert run.rows[case.name]["ooni_blocking"] == (spec.ooni_blocking or OONI_BLOCKING[case.expected_blocking])


def test_unfingerprinted_blockpages_are_quoted(run: Run) -> None:
    """Issue #21: v0.4 calls them accessible; our detector names what it read."""
    assert "Доступ к информационному ресурсу ограничен" in run.rows["http-legal-notice"]["reason"]
    assert "149-ФЗ" in run.rows["http-legal-notice"]["reason"]
    assert "Сайт заблокирован" in run.rows["dns-blockpage-lookalike"]["reason"]
    for name in ("http-legal-notice", "dns-blockpage-lookalike"):
        assert run.rows[name]["fingerprint"] is None
        assert run.measurements[name]["test_keys"]["headers_match"] is True


def test_confirmed_cases_name_the_ru_fingerprint(run: Run) -> None:
    for name in ("dns-blockpage", "http-blockpage"):
        assert run.rows[name]["fingerprint"] is not None
        assert "ru_0" in str(run.rows[name]["fingerprint"])


def test_every_runnable_case_was_measured_once(run: Run) -> None:
    assert set(run.rows) == {case.name for case in run.lab.runnable_cases}


def test_probe_ip_never_written(run: Run) -> None:
    for measurement in run.measurements.values():
        assert run.lab.censored_source not in json.dumps(measurement)
