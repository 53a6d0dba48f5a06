"""`censorwatch probe --upload ooni`: each measurement goes to OONI's collector (bk-003) through
the upload spool. OONI's URL is replaced by our own collector on loopback, through
CENSORWATCH_OONI_COLLECTOR or --collector; nothing leaves the machine."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from censorwatch.probe.public_services import OONI_COLLECTOR, OONI_COLLECTOR_ENV, ooni_collector
from censorwatch.probe.spool import UploadSpool
from censorwatch.services.test_helper import BackgroundTestHelper, HelperConfig
from tests.integration.collector_process import CollectorProcess
from tests.integration.hostile_servers import Servers, ok

pytestmark = pytest.mark.integration


def _probe(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "censorwatch", "probe", *args], capture_output=True, text=True,
                          timeout=180, env=env)


def test_default_ooni_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(OONI_COLLECTOR_ENV)
    assert ooni_collector() == OONI_COLLECTOR == "https://api.ooni.io"


@pytest.mark.parametrize("via", ["env", "--collector"])
def test_upload_ooni_submits_scrubbed_measurements_only_after_consent(tmp_path: Path, via: str) -> None:
    collector = CollectorProcess(tmp_path).start()
    try:
        with Servers({"ok": ok}) as servers, BackgroundTestHelper(HelperConfig(loopback_only=True)) as helper:
            urls = [f"{servers.url('ok')}/{i}" for i in range(3)]
            base = [*urls, "--test-helper", helper.url, "--timeout", "3", "--upload", "ooni",
                    "--probe-cc", "DE", "--probe-asn", "AS64500"]
            env = {**os.environ}
            if via == "env":
                env[OONI_COLLECTOR_ENV] = collector.url
            else:
                base += ["--collector", collector.url]

            no_consent = _probe({**env, "XDG_CONFIG_HOME": str(tmp_path / "no-consent")}, *base,
                                "--db", str(tmp_path / "refused" / "p.duckdb"))
            assert no_consent.returncode == 2 and "censorwatch onboard" in no_consent.stderr
            assert not (tmp_path / "refused").exists()  # no store, no spool
            health = collector.health()
            assert health["reports_open"] == 0 and health["measurements_acknowledged"] == 0

            probe_db = tmp_path / "probe" / "p.duckdb"
            done = _probe(env, *base, "--db", str(probe_db))
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"collector {collector.url}: 3 submitted" in done.stderr
        assert len(UploadSpool(probe_db.parent / "upload-spool")) == 0
    finally:
        collector.stop()
    rows = collector.rows()
    assert sorted(row["input"] for row in rows) == sorted(urls)
    for row in rows:
        raw = orjson.loads(row["raw"])
        assert raw["probe_ip"] == "127.0.0.1"  # df-000's scrubbed value
        assert (raw["probe_cc"], raw["probe_asn"]) == ("DE", "AS64500")


def test_upload_ooni_spools_while_offline(tmp_path: Path) -> None:
    """OONI unreachable (the session points it at a closed loopback port): nothing is lost."""
    with Servers({"ok": ok}) as servers, BackgroundTestHelper(HelperConfig(loopback_only=True)) as helper:
        probe_db = tmp_path / "probe" / "p.duckdb"
        done = _probe({**os.environ}, servers.url("ok"), "--test-helper", helper.url, "--timeout", "3",
                      "--upload", "ooni", "--db", str(probe_db))
    assert done.returncode == 0, done.stderr
    assert len(UploadSpool(probe_db.parent / "upload-spool")) == 1
    assert "censorwatch upload" in done.stderr


def test_upload_takes_only_ooni(tmp_path: Path) -> None:
    refused = _probe({**os.environ}, "http://127.0.0.1:9/", "--upload", "elsewhere", "--db", str(tmp_path / "d"))
    assert refused.returncode == 2 and "--upload" in refused.stderr


def test_upload_of_the_spool_needs_consent_too(tmp_path: Path) -> None:
    """`censorwatch upload` publishes what a probe spooled: without consent it sends nothing, keeps the spool and
    exits 2 naming `censorwatch onboard`; with consent the same spool is sent."""
    with Servers({"ok": ok}) as servers, BackgroundTestHelper(HelperConfig(loopback_only=True)) as helper:
        probe_db = tmp_path / "probe" / "p.duckdb"
        done = _probe({**os.environ}, servers.url("ok"), "--test-helper", helper.url, "--timeout", "3",
                      "--upload", "ooni", "--db", str(probe_db))
    assert done.returncode == 0, done.stderr
    spool = probe_db.parent / "upload-spool"
    assert len(UploadSpool(spool)) == 1
    (tmp_path / "collector").mkdir()
    collector = CollectorProcess(tmp_path / "collector").start()
    try:
        upload = [sys.executable, "-m", "censorwatch", "upload", "--collector", collector.url, "--spool", str(spool)]
        refused = subprocess.run(upload, capture_output=True, text=True, timeout=120,
                                 env={**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "no-consent")})
        assert refused.returncode == 2
        assert "censorwatch onboard" in refused.stderr
        assert len(UploadSpool(spool)) == 1
        assert collector.health()["measurements_acknowledged"] == 0

        sent = subprocess.run(upload, capture_output=True, text=True, timeout=120, env={**os.environ})
        assert sent.returncode == 0, sent.stderr
        assert "uploaded 1" in sent.stderr
        assert len(UploadSpool(spool)) == 0
    finally:
        collector.stop()
    [row] = collector.rows()
    assert row["input"] == servers.url("ok")
