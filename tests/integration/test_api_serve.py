"""`censorwatch serve` as a real process on loopback: it starts without a store, refreshes
stale aggregates at start, and serves the API and pages over HTTP."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import httpx
import pytest

from censorwatch.store.database import Store
from censorwatch.web import demo

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(db: Path, *extra: str) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "censorwatch", "serve", "--db", str(db), "--listen", f"127.0.0.1:{port}", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/api/v1/health", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    out = process.stdout.read() if process.stdout else ""
                    raise AssertionError(f"serve did not start: {out}") from None
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_serve_starts_without_a_store(tmp_path: Path) -> None:
    db = tmp_path / "not-yet" / "store.duckdb"
    with serve(db) as base:
        home = httpx.get(base + "/")
        assert home.status_code == 200 and "censorwatch probe" in home.text
        assert httpx.get(base + "/api/v1/status").json()["state"] == "missing"
    assert not db.exists()


def test_serve_refreshes_aggregates_and_answers(tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    with Store(db) as store:
        store.add(demo.synthetic(days=3, per_day=1))
    with serve(db) as base:
        found = httpx.get(base + "/api/v1/measurements", params={"probe_cc": "IR", "limit": 5}).json()
        assert len(found["results"]) == 5 and found["total"] is not None  # the aggregates counted it
        detail = httpx.get(base + f"/api/v1/measurements/{found['results'][0]['measurement_uid']}").json()
        assert detail["raw"]["probe_cc"] == "IR"
        assert httpx.get(base + "/country/IR").status_code == 200
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT measurements FROM web_agg_meta").fetchone() == (len(list(demo.synthetic(3, 1))),)


def test_serve_rejects_a_bad_listen_address(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "censorwatch", "serve", "--db", str(tmp_path / "x.duckdb"),
                             "--listen", "nowhere"], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "HOST:PORT" in result.stdout + result.stderr


def test_probe_or_ingest_can_write_while_the_explorer_runs(tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    with Store(db) as store:
        store.add(demo.synthetic(days=2, per_day=1))
    with serve(db) as base:
        before = httpx.get(base + "/api/v1/measurements", params={"probe_cc": "IR", "total": "true"}).json()["total"]
        # The explorer lets go of the store after 2 s without requests; a writer then gets in.
        deadline = time.monotonic() + 15
        while True:
            try:
                store = Store(db)
                break
            except duckdb.IOException:
                assert time.monotonic() < deadline, "the explorer never released the store"
                time.sleep(0.5)
        with store:
            late = demo.web_measurement("https://late.example/", "IR", "AS1", "Late", demo.END, "tcp_drop")
            assert store.add([demo.record(late, "tcp_drop")]) == 1
        after = httpx.get(base + "/api/v1/measurements", params={"probe_cc": "IR", "total": "true"}).json()
        assert after["total"] == before + 1  # the stale aggregates are not used
        assert httpx.get(base + "/api/v1/measurements", params={"domain": "late.example"}).json()["results"]
