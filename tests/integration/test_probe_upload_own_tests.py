"""`censorwatch probe --test ... --upload ooni`: the measurements of the tests OONI has (telegram)
go to OONI's collector; those of censorwatch's own tests (http3) stay on the machine, and the run
says so. OONI's collector is our own on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from censorwatch.lab import Lab
from censorwatch.probe.public_services import OONI_COLLECTOR_ENV
from tests.integration.collector_process import CollectorProcess

pytestmark = pytest.mark.integration


def test_own_tests_are_not_published_to_ooni(tmp_path: Path) -> None:
    collector = CollectorProcess(tmp_path).start()
    try:
        with Lab(tmp_path / "lab", use_iptables=False, tests={"telegram", "http3"}) as lab:
            telegram, http3 = lab.app_case("telegram-ok"), lab.app_case("http3-ok")
            env = {**os.environ, OONI_COLLECTOR_ENV: collector.url}
            runs = {}
            for case in (telegram, http3):
                command = lab.app_probe_command(case)[1:]
                runs[case.test_name] = subprocess.run(
                    [sys.executable, "-m", "censorwatch", *command, "--timeout", "3", "--upload", "ooni",
                     "--db", str(tmp_path / case.name / "p.duckdb")],
                    capture_output=True, text=True, timeout=180, env=env, check=False)
    finally:
        collector.stop()
    for name, done in runs.items():
        assert done.returncode == 0, f"{name}: {done.stdout}{done.stderr}"
    assert "http3: censorwatch's own tests, which OONI does not have" in runs["http3"].stderr
    assert "OONI does not have" not in runs["telegram"].stderr
    assert [row["test_name"] for row in collector.rows()] == ["telegram"]
