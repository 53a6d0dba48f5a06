"""OONI API ingest against a real HTTP server on loopback replaying OONI-shaped responses."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from censorwatch.sources.ingest import ingest_records
from censorwatch.sources.ooni_api import ApiError, ApiQuery, OoniApi, api_records
from censorwatch.store import Store
from tests.unit.wc_builder import measurement

pytestmark = pytest.mark.integration


class FakeOoni:
    """Pages of /api/v1/measurements by offset, raw bodies by uid; chosen uids fail with 503 first."""

    def __init__(self, pages: list[list[dict[str, Any]]], bodies: dict[str, str], flaky: set[str]) -> None:
        self.pages, self.bodies, self.flaky = pages, bodies, set(flaky)
        self.hits: Counter[str] = Counter()
        self.times: list[float] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                fake.times.append(time.monotonic())
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                if parts.path == "/api/v1/measurements":
                    index = int(query.get("offset", 0)) // max(len(fake.pages[0]), 1)
                    results = fake.pages[index] if index < len(fake.pages) else []
                    self._send(200, json.dumps({"metadata": {}, "results": results}))
                elif parts.path == "/api/v1/raw_measurement":
                    uid = query.get("measurement_uid", "")
                    fake.hits[uid] += 1
                    if uid in fake.flaky:
                        fake.flaky.discard(uid)
                        self._send(503, "busy")
                    elif uid in fake.bodies:
                        self._send(200, fake.bodies[uid])
                    else:
                        self._send(404, '{"error": "not found"}')
                else:
                    self._send(404, "{}")

            def _send(self, status: int, body: str) -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeOoni:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _synthetic(n: int, page: int) -> tuple[list[list[dict[str, Any]]], dict[str, str]]:
    items, bodies = [], {}
    for i in range(n):
        uid = f"20261101000000.{i:06d}_RU_webconnectivity_{i:016x}"
        items.append({"measurement_uid": uid, "probe_cc": "RU", "test_name": "web_connectivity"})
        bodies[uid] = json.dumps(measurement(url=f"http://s{i}.example/"))
    return [items[i : i + page] for i in range(0, n, page)], bodies


def test_pages_retries_and_idempotence(tmp_path: Path) -> None:
    pages, bodies = _synthetic(25, 10)
    flaky = {pages[0][0]["measurement_uid"], pages[2][1]["measurement_uid"]}
    slept: list[float] = []
    with FakeOoni(pages, bodies, flaky) as fake, Store(tmp_path / "s.duckdb") as store:
        api = OoniApi(fake.url, requests_per_second=0, backoff=0.01, sleep=slept.append)
        query = ApiQuery("RU", "2026-11-01", "2026-11-02", page_size=10)
        stats = ingest_records(store, api_records(api, query))
        assert (stats.read, stats.stored) == (25, 25)
        assert fake.hits[pages[0][0]["measurement_uid"]] == 2  # one 503, then the body
        assert len(slept) == 2
        again = ingest_records(store, api_records(api, query))
        assert (again.stored, again.duplicates) == (0, 25)
        uids = {row[0] for row in store.con.execute("SELECT measurement_uid FROM measurements").fetchall()}
        assert uids == set(bodies)  # OONI's own uids are kept
        api.close()


def test_rate_limit_spaces_requests() -> None:
    pages, bodies = _synthetic(6, 10)
    with FakeOoni(pages, bodies, set()) as fake:
        api = OoniApi(fake.url, requests_per_second=20)
        records = list(api_records(api, ApiQuery("RU", "2026-11-01", "2026-11-02", page_size=10)))
        api.close()
    assert len(records) == 6
    gaps = [b - a for a, b in zip(fake.times, fake.times[1:], strict=False)]
    assert min(gaps) >= 0.035  # 20 requests/s; unlimited would be about a millisecond


def test_unreachable_api_is_a_clear_error(tmp_path: Path) -> None:
    api = OoniApi("http://127.0.0.1:9", requests_per_second=0, retries=2, backoff=0.01)
    with pytest.raises(ApiError, match="failed after 3 attempts"):
        list(api.list_measurements(ApiQuery("RU", "2026-11-01", "2026-11-02")))
    api.close()
    done = subprocess.run(
        [sys.executable, "-m", "censorwatch", "ingest", "ooni", "--from-api", "--probe-cc", "RU", "--since",
         "2026-11-01", "--until", "2026-11-02", "--api-url", "http://127.0.0.1:9", "--retries", "1",
         "--db", str(tmp_path / "s.duckdb")],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode != 0
    assert "failed after" in done.stderr


def test_recorded_api_pages(shared_data: Path, tmp_path: Path) -> None:
    recorded = shared_data / "ooni" / "api_responses"
    pages = []
    for name in ("measurements__since-2026-06-11_until-2026-07-12_failure-false_limit-50_order-desc.json",
                 "measurements__since-2026-06-11_until-2026-07-12_failure-false_limit-50_order-desc_offset-50.json"):
        envelope = json.loads((recorded / name).read_text("utf-8"))
        pages.append(json.loads(envelope["body"])["results"])
    real = sorted((shared_data / "ooni" / "measurements").glob("*.json"))
    uids = [item["measurement_uid"] for page in pages for item in page]
    documents = [json.loads(path.read_text("utf-8")) for path in real]
    for document in documents:
        document.pop("measurement_uid", None)  # the API's raw bodies carry no uid of their own
    bodies = {uid: json.dumps(documents[i % len(documents)]) for i, uid in enumerate(uids)}
    with FakeOoni(pages, bodies, set()) as fake, Store(tmp_path / "s.duckdb") as store:
        api = OoniApi(fake.url, requests_per_second=0)
        stats = ingest_records(store, api_records(api, ApiQuery("RU", "2026-06-11", "2026-07-12", page_size=50)))
        api.close()
        # The two recorded pages overlap by 13 uids (offset paging while new measurements arrived):
        # idempotent ingest stores each once.
        assert stats.read == 100
        assert (stats.stored, stats.duplicates) == (len(set(uids)), 100 - len(set(uids))) == (87, 13)
