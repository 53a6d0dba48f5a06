"""`censorwatch lab` as a user runs it: starts, prints the probe command, stops cleanly on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def test_lab_command_prints_the_probe_command_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "censorwatch", "lab", "--workdir", str(tmp_path), "--no-iptables"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 30
        assert process.stdout is not None
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("censorwatch probe "):
                break
        command = lines[-1].split()
        assert command[:2] == ["censorwatch", "probe"]
        for option in ("--list", "--resolver", "--test-helper", "--ca-file", "--source-address", "--probe-cc"):
            assert option in command
        assert command[command.index("--source-address") + 1] == "127.0.0.2"
        assert command[command.index("--probe-cc") + 1] == "RU"
        test_list = Path(command[command.index("--list") + 1])
        assert test_list.is_file() and "tls-sni-reset.lab.censorwatch.test" in test_list.read_text()
        assert "tcp-drop" not in test_list.read_text()  # --no-iptables: root-only cases are left out
        assert Path(command[command.index("--ca-file") + 1]).is_file()
        assert "dns-blockpage" in "".join(lines)
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "lab stopped" in err


def test_lab_command_rejects_a_bad_source(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "censorwatch", "lab", "--workdir", str(tmp_path), "--censored-source", "10.1.1.1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "censored source" in result.stderr
