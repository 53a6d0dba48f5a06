"""The real `censorwatch probe` command: Ctrl-C leaves file and store consistent; a re-run resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from censorwatch.services.test_helper import BackgroundTestHelper, HelperConfig
from tests.integration.hostile_servers import Servers, hang, ok

pytestmark = pytest.mark.integration
HEADER = "url,category_code,category_description,date_added,source,notes\n"


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "censorwatch", *args]


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def _uids(db: Path) -> set[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {row[0] for row in con.execute("SELECT measurement_uid FROM measurements").fetchall()}
    finally:
        con.close()


def test_interrupt_then_resume(tmp_path: Path) -> None:
    with Servers({"ok": ok, "hang": hang}) as servers, BackgroundTestHelper(
        HelperConfig(http_timeout=3, connect_timeout=2, loopback_only=True)
    ) as helper:
        urls = [f"{servers.url('ok')}/{i}" for i in range(6)] + [f"{servers.url('hang')}/{i}" for i in range(6)]
        test_list = tmp_path / "list.csv"
        test_list.write_text(HEADER + "".join(f"{u},NEWS,News,2020-01-01,,\n" for u in urls) + "ftp://x/,X,,,,\n")
        output, db = tmp_path / "run.jsonl", tmp_path / "store.duckdb"
        args = _cli("probe", "--list", str(test_list), "--output", str(output), "--db", str(db),
                    "--test-helper", helper.url, "--timeout", "2", "--concurrency", "2")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (not output.exists() or len(output.read_bytes().splitlines()) < 3):
            time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
        assert process.returncode == 130, err
        assert "interrupted" in err
        first = _lines(output)
        assert 3 <= len(first) < len(urls)
        assert {str(m["measurement_uid"]) for m in first} == _uids(db)

        done = subprocess.run(args, capture_output=True, text=True, timeout=120, env=env)
        assert done.returncode == 0, done.stderr
        assert f"resuming: {len(first)} of {len(urls)} measurements" in done.stderr
        assert "skipped 1 inputs" in done.stderr
        assert "measurements" in done.stdout  # the summary table
        every = _lines(output)
        assert sorted(str(m["input"]) for m in every) == sorted(urls)
        assert {str(m["measurement_uid"]) for m in every} == _uids(db)


def test_run_failures_exit_non_zero_with_a_message(tmp_path: Path) -> None:
    missing = subprocess.run(_cli("probe", "--list", str(tmp_path / "nope.csv"), "--db", str(tmp_path / "d.duckdb")),
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode != 0
    assert "cannot read test list" in missing.stderr
    bad = subprocess.run(_cli("probe", "http://127.0.0.1:9/", "--resolver", "nonsense:port",
                              "--db", str(tmp_path / "d.duckdb")), capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0
    assert "--resolver" in bad.stderr
