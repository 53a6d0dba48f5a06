"""End to end: `censorwatch probe --collector URL` measures through the lab and every measurement
arrives in a real collector's store, analysed, under the uid the collector gave it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from censorwatch.lab import Lab
from censorwatch.probe.spool import UploadSpool
from censorwatch.store import Store
from tests.integration.collector_process import CollectorProcess

pytestmark = pytest.mark.integration

CASES = ("ok-http", "dns-nxdomain", "dns-blockpage")


def test_probe_submits_to_the_collector(tmp_path: Path) -> None:
    collector = CollectorProcess(tmp_path).start()
    url = collector.url
    try:
        with Lab(tmp_path / "lab") as lab:
            urls = [lab.case(name).url for name in CASES]
            probe_db = tmp_path / "probe" / "probe.duckdb"
            probe = subprocess.run(
                [sys.executable, "-m", "censorwatch", "probe", *urls, "--resolver", lab.resolver,
                 "--test-helper", lab.test_helper_url, "--ca-file", str(lab.ca_file),
                 "--source-address", lab.censored_source, "--probe-cc", "RU", "--timeout", "3",
                 "--db", str(probe_db), "--collector", url],
                capture_output=True, text=True, timeout=240,
            )
        assert probe.returncode == 0, probe.stdout + probe.stderr
        assert f"collector {url}: {len(CASES)} submitted" in probe.stderr
        assert len(UploadSpool(probe_db.parent / "upload-spool")) == 0
    finally:
        collector.stop()  # graceful: asserts the collector exits 0

    rows = collector.rows()
    assert sorted(row["input"] for row in rows) == sorted(urls)
    with Store(probe_db, read_only=True) as store:
        local = {row["input"]: row for row in store.iter_measurements()}
    for row in rows:
        raw = orjson.loads(row["raw"])
        assert row["source"] == "collector" and row["probe_cc"] == "RU"
        assert raw["measurement_uid"] == row["measurement_uid"] and raw["report_id"] == row["report_id"]
        # The collector's analysis of what it received agrees with the probe's of what it measured.
        assert (row["verdict"], row["blocking"]) == (local[row["input"]]["verdict"], local[row["input"]]["blocking"])
