"""A real collector subprocess on loopback: concurrent submitters, kill -9 under load, privacy,
tokens, and the probe-side sink and `censorwatch upload`."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from censorwatch.probe.collector_client import CollectorSink, flush_spool
from censorwatch.probe.spool import SpoolEntry, UploadSpool
from censorwatch.services.collector.framing import encode_frame
from censorwatch.store import Store
from tests.integration.collector_process import CollectorProcess

pytestmark = pytest.mark.integration

OPEN = {
    "probe_cc": "IT", "probe_asn": "AS30722", "software_name": "censorwatch", "software_version": "0.1.0",
    "test_name": "dnscheck", "test_version": "0.1.0", "data_format_version": "0.2.0", "format": "json",
}


def measurement(client: int, n: int, **extra: Any) -> dict[str, Any]:
    return {
        "test_name": "dnscheck", "probe_cc": "IT", "probe_asn": "AS30722", "probe_ip": "127.0.0.1",
        "input": f"dot://resolver-{client}-{n}.example/", "measurement_start_time": "2026-11-25 07:00:00",
        "software_name": "censorwatch", "software_version": "0.1.0", "test_version": "0.1.0",
        "test_keys": {"client": client, "n": n, "padding": "p" * 2000}, **extra,
    }


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[CollectorProcess]:
    process = CollectorProcess(tmp_path)
    yield process
    process.kill()


def open_report(client: httpx.Client, url: str) -> str:
    response = client.post(f"{url}/report", json=OPEN)
    assert response.status_code == 200, response.text
    report_id: str = response.json()["report_id"]
    return report_id


def test_many_concurrent_submitters(collector: CollectorProcess) -> None:
    collector.start()
    clients, per_client = 20, 25

    async def submitter(index: int) -> list[str]:
        async with httpx.AsyncClient(base_url=collector.url, timeout=30) as client:
            report_id = (await client.post("/report", json=OPEN)).json()["report_id"]
            uids = []
            for n in range(per_client):
                response = await client.post(f"/report/{report_id}",
                                             json={"format": "json", "content": measurement(index, n)})
                assert response.status_code == 200, response.text
                uids.append(response.json()["measurement_uid"])
            assert (await client.post(f"/report/{report_id}/close")).status_code == 200
            return uids

    async def run_all() -> list[list[str]]:
        return await asyncio.wait_for(asyncio.gather(*(submitter(i) for i in range(clients))), timeout=90)

    started = time.monotonic()
    results = asyncio.run(run_all())
    elapsed = time.monotonic() - started
    uids = [uid for batch in results for uid in batch]
    assert len(set(uids)) == clients * per_client
    health = collector.health()
    assert health["accepted"] == clients * per_client and health["reports_open"] == 0
    collector.stop()
    rows = collector.rows()
    assert sorted(row["measurement_uid"] for row in rows) == sorted(uids)
    print(f"{clients * per_client} submissions from {clients} clients in {elapsed:.2f}s")


def test_kill_9_under_load_loses_nothing_acknowledged(collector: CollectorProcess) -> None:
    collector.start()
    acknowledged: dict[str, tuple[str, dict[str, Any]]] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def submitter(index: int) -> None:
        with httpx.Client(timeout=10) as client:
            try:
                report_id = open_report(client, collector.url)
                for n in range(10_000):
                    if stop.is_set():
                        return
                    content = measurement(index, n)
                    response = client.post(f"{collector.url}/report/{report_id}",
                                           json={"format": "json", "content": content})
                    if response.status_code != 200:
                        return
                    with lock:
                        acknowledged[response.json()["measurement_uid"]] = (report_id, content)
            except httpx.HTTPError:
                return  # the collector died under us: whatever was not acknowledged may be lost

    threads = [threading.Thread(target=submitter, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 20
    while len(acknowledged) < 200 and time.monotonic() < deadline:
        time.sleep(0.01)
    collector.kill()  # SIGKILL while every client is mid-submission
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    assert len(acknowledged) >= 200

    collector.start()
    health = collector.health()
    assert health["status"] == "ok"
    # Retries of acknowledged submissions after the restart: same uid, nothing written again.
    sample = list(acknowledged.items())[:25]
    with httpx.Client(timeout=10) as client:
        for uid, (report_id, content) in sample:
            response = client.post(f"{collector.url}/report/{report_id}", json={"format": "json", "content": content})
            assert response.json() == {"measurement_uid": uid}
    health = collector.health()
    assert health["accepted"] == 0 and health["duplicates"] == len(sample)
    collector.stop()

    rows = collector.rows()
    stored = [row["measurement_uid"] for row in rows]
    assert len(stored) == len(set(stored))
    assert set(acknowledged) <= set(stored)
    spooled = collector.spooled_uids()
    assert len(spooled) == len(set(spooled))  # the retries were not written again
    assert set(stored) == set(spooled)  # only whole, checksummed frames reached the store
    for row in rows:
        content = orjson.loads(row["raw"])
        assert content["test_keys"]["padding"] == "p" * 2000


def test_torn_tail_is_ignored_and_replay_is_exactly_once(collector: CollectorProcess) -> None:
    collector.start()
    with httpx.Client(timeout=10) as client:
        report_id = open_report(client, collector.url)
        uids = [client.post(f"{collector.url}/report/{report_id}",
                            json={"format": "json", "content": measurement(0, n)}).json()["measurement_uid"]
                for n in range(5)]
    collector.kill()
    # What a kill -9 in the middle of an append leaves: a frame cut short (never acknowledged).
    half = encode_frame(orjson.dumps({"kind": "measurement", "report_id": report_id, "uid": "HALF",
                                      "content": measurement(0, 99)}))
    segment = sorted(collector.spool.glob("segment-*.cws"))[-1]
    with open(segment, "ab") as handle:
        handle.write(half[: len(half) // 2])

    collector.start()
    assert collector.health()["spool_torn_tail_bytes"] == len(half) // 2
    collector.stop()
    collector.start()  # a second restart replays nothing twice
    assert collector.health()["replayed_at_start"] == 0
    collector.stop()
    stored = sorted(row["measurement_uid"] for row in collector.rows())
    assert stored == sorted(uids)


def test_submitter_address_is_never_stored_or_logged(collector: CollectorProcess, tmp_path: Path) -> None:
    collector.start()
    marker, forwarded = "127.0.0.3", "127.0.0.5"
    transport = httpx.HTTPTransport(local_address=marker)
    with httpx.Client(transport=transport, timeout=10, headers={"X-Forwarded-For": forwarded}) as client:
        report_id = open_report(client, collector.url)
        content = measurement(3, 0, probe_ip=marker)
        content["test_keys"]["client_resolver"] = marker
        content["test_keys"]["note"] = f"seen from {marker}:5353 behind {forwarded}"
        response = client.post(f"{collector.url}/report/{report_id}", json={"format": "json", "content": content})
        assert response.status_code == 200
        bad = client.post(f"{collector.url}/report/{report_id}", content=b"{nope")
        assert bad.status_code == 400
        client.post(f"{collector.url}/report/{report_id}/close")
    collector.stop()

    rows = collector.rows()
    assert len(rows) == 1
    assert orjson.loads(rows[0]["raw"])["probe_ip"] == "127.0.0.1"
    for value in rows[0].values():
        assert marker not in str(value) and forwarded not in str(value)
    assert "spool:" in collector.log.read_text()  # the log is not empty: the grep below means something
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert marker.encode() not in data and forwarded.encode() not in data, path


def test_token_file_protects_submission(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("correct-horse-battery\n")
    process = CollectorProcess(tmp_path, "--token-file", str(token_file))
    try:
        process.start()
        with httpx.Client(timeout=10) as client:
            assert client.post(f"{process.url}/report", json=OPEN).status_code == 401
            wrong = client.post(f"{process.url}/report", json=OPEN, headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401
            good = client.post(f"{process.url}/report", json=OPEN,
                               headers={"Authorization": "Bearer correct-horse-battery"})
            assert good.status_code == 200
            assert client.get(f"{process.url}/health").status_code == 200
        # A probe with the wrong token keeps its measurements for a later try; never drops them.
        spool = UploadSpool(tmp_path / "upload-spool")
        spool.put(SpoolEntry(measurement(1, 1), process.url))
        wrong_token = flush_spool(spool, token="nope", timeout=10)
        assert (wrong_token.sent, wrong_token.kept, wrong_token.rejected) == (0, 1, 0)
        assert len(spool) == 1
        right_token = flush_spool(spool, token="correct-horse-battery", timeout=10)
        assert (right_token.sent, right_token.kept) == (1, 0) and len(spool) == 0
    finally:
        process.kill()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_probe_sink_spools_when_down_and_upload_flushes(collector: CollectorProcess, tmp_path: Path) -> None:
    spool = UploadSpool(tmp_path / "upload-spool")
    dead = f"http://127.0.0.1:{free_port()}"
    with CollectorSink(dead, spool, timeout=5) as sink:
        for n in range(3):
            sink(measurement(5, n))
        sink({**measurement(5, 9), "probe_cc": "XYZ"})  # a report the collector will refuse to open
    assert sink.stats.sent == 0 and len(spool) == 4

    collector.start()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    upload = subprocess.run(
        [sys.executable, "-m", "censorwatch", "upload", "--collector", collector.url, "--spool", str(spool.directory)],
        capture_output=True, env=env, timeout=60,
    )
    assert upload.returncode == 0, upload.stderr.decode()
    assert "uploaded 3" in upload.stderr.decode() and "rejected 1" in upload.stderr.decode()
    assert len(spool) == 0
    assert [path.suffix for path in sorted(spool.rejected.iterdir())] == [".json", ".reason"]

    with CollectorSink(collector.url, spool, timeout=5) as sink:
        for n in range(3):
            sink(measurement(6, n))
    assert sink.stats.sent == 3 and len(spool) == 0
    assert collector.health()["reports_open"] == 0  # the sink and the upload closed their reports
    collector.stop()
    rows = collector.rows()
    assert len(rows) == 6
    assert {orjson.loads(row["raw"])["test_keys"]["client"] for row in rows} == {5, 6}


def test_refuses_to_start_when_another_process_writes_the_db(tmp_path: Path) -> None:
    db = tmp_path / "busy.duckdb"
    with Store(db):  # this test process holds DuckDB's writer lock
        result = subprocess.run(
            [sys.executable, "-m", "censorwatch", "collector", "--listen", "127.0.0.1:0", "--db", str(db)],
            capture_output=True, timeout=60,
        )
    assert result.returncode == 2
    assert b"cannot open the store" in result.stderr


def test_upload_reopens_gone_reports_and_retries_are_idempotent(collector: CollectorProcess, tmp_path: Path) -> None:
    collector.start()
    spool = UploadSpool(tmp_path / "upload-spool")
    with httpx.Client(timeout=10) as client:
        closed = open_report(client, collector.url)
        assert client.post(f"{collector.url}/report/{closed}/close").status_code == 200
        acked = open_report(client, collector.url)
        content = {**measurement(7, 1), "report_id": acked}
        first = client.post(f"{collector.url}/report/{acked}", json={"format": "json", "content": content})
        uid = first.json()["measurement_uid"]
    # 1: spooled for a report that was closed meanwhile -> a new report, the entry rewritten.
    spool.put(SpoolEntry({**measurement(7, 2), "report_id": closed}, collector.url, report_id=closed))
    # 2: acknowledged, but the probe never saw the reply -> the retry gets the same uid.
    spool.put(SpoolEntry(content, collector.url, report_id=acked))
    stats = flush_spool(spool, timeout=10)
    assert (stats.sent, stats.kept, stats.rejected) == (2, 0, 0), stats.errors
    health = collector.health()
    assert health["accepted"] == 2 and health["duplicates"] == 1
    collector.stop()
    rows = {row["measurement_uid"]: row for row in collector.rows()}
    assert len(rows) == 2 and uid in rows
    [other] = [row for key, row in rows.items() if key != uid]
    assert other["report_id"] not in (closed, acked)
    assert orjson.loads(other["raw"])["report_id"] == other["report_id"]
