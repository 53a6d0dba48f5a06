"""Consent gates the probe: without `censorwatch onboard` it measures nothing and exits 2; after
`onboard --yes` (or the interactive flow) the same command measures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from censorwatch.services.test_helper import BackgroundTestHelper, HelperConfig
from tests.integration.hostile_servers import Servers, ok

pytestmark = pytest.mark.integration


def _run(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "censorwatch", *args], capture_output=True, text=True,
                          timeout=120, env=env, input=stdin)


def test_no_consent_no_measurement_then_onboard(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "fresh-config")}
    output, db = tmp_path / "out.jsonl", tmp_path / "store.duckdb"
    with Servers({"ok": ok}) as servers, BackgroundTestHelper(HelperConfig(loopback_only=True)) as helper:
        probe = ("probe", servers.url("ok"), "--test-helper", helper.url, "--output", str(output), "--db", str(db),
                 "--timeout", "3")
        refused = _run(env, *probe)
        assert refused.returncode == 2
        assert "censorwatch onboard" in refused.stderr
        assert not output.exists() and not db.exists()  # nothing measured, nothing stored

        onboard = _run(env, "onboard", "--yes")
        assert onboard.returncode == 0, onboard.stderr
        assert (tmp_path / "fresh-config" / "censorwatch" / "consent.json").is_file()

        allowed = _run(env, *probe)
        assert allowed.returncode == 0, allowed.stderr
        [measurement] = [json.loads(line) for line in output.read_text().splitlines()]
        assert measurement["input"] == servers.url("ok")


def test_interactive_onboarding_from_a_terminal_session(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    declined = _run(env, "onboard", stdin="t\nt\nn\n")
    assert declined.returncode == 1
    assert _run(env, "probe", "http://127.0.0.1:9/", "--db", str(tmp_path / "d.duckdb")).returncode == 2
    agreed = _run(env, "onboard", stdin="t\nt\ny\n")
    assert agreed.returncode == 0, agreed.stdout + agreed.stderr
    assert "never include your IP" in agreed.stdout
    assert json.loads((tmp_path / "cfg" / "censorwatch" / "consent.json").read_text())["how"] == "interactive"
