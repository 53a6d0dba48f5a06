"""OONI API ingest against a real HTTP server on loopback replaying OONI-shaped responses."""

from __future__ import annotations

import json
import os
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
    """Pages of /api/v1/measurements by offset, raw bodies by uid; chosen uids fail with 503 first.
    /api/v1/aggregation answers `aggregation` (a body) with `aggregation_status`, after
    `aggregation_busy` 503s; 404 when no body is given. List pages from offset `list_down_from` on
    answer 503 (an API that goes down mid-run); raw bodies wait `raw_delay` seconds."""

    def __init__(self, pages: list[list[dict[str, Any]]], bodies: dict[str, str], flaky: set[str], *,
                 aggregation: str | None = None, aggregation_status: int = 200, aggregation_busy: int = 0,
                 list_down_from: int | None = None, raw_delay: float = 0.0) -> None:
        self.pages, self.bodies, self.flaky = pages, bodies, set(flaky)
        self.aggregation, self.aggregation_status, self.aggregation_busy = (aggregation, aggregation_status,
                                                                            aggregation_busy)
        self.aggregation_queries: list[dict[str, str]] = []
        self.list_queries: list[dict[str, str]] = []
        self.list_down_from, self.raw_delay = list_down_from, raw_delay
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
                    fake.list_queries.append(query)
                    if fake.list_down_from is not None and int(query.get("offset", 0)) >= fake.list_down_from:
                        self._send(503, "down")
                        return
                    index = int(query.get("offset", 0)) // max(len(fake.pages[0]), 1)
                    results = fake.pages[index] if index < len(fake.pages) else []
                    self._send(200, json.dumps({"metadata": {}, "results": results}))
                elif parts.path == "/api/v1/raw_measurement":
                    uid = query.get("measurement_uid", "")
                    time.sleep(fake.raw_delay)
                    fake.hits[uid] += 1
                    if uid in fake.flaky:
                        fake.flaky.discard(uid)
                        self._send(503, "busy")
                    elif uid in fake.bodies:
                        self._send(200, fake.bodies[uid])
                    else:
                        self._send(404, '{"error": "not found"}')
                elif parts.path == "/api/v1/aggregation":
                    fake.aggregation_queries.append(query)
                    if fake.aggregation_busy > 0:
                        fake.aggregation_busy -= 1
                        self._send(503, "busy")
                    elif fake.aggregation is None:
                        self._send(404, "{}")
                    else:
                        self._send(fake.aggregation_status, fake.aggregation)
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


def test_recorded_test_name_page(shared_data: Path, tmp_path: Path) -> None:
    """The recorded list filtered by test_name: our query carries the filter, every uid of the page is
    fetched by its own uid and stored under it."""
    name = ("measurements__test_name-web_connectivity_since-2026-06-11_until-2026-07-12_"
            "failure-false_limit-50_order-desc.json")
    envelope = json.loads((shared_data / "ooni" / "api_responses" / name).read_text("utf-8"))
    page = json.loads(envelope["body"])["results"]
    assert len(page) == 50 and {item["test_name"] for item in page} == {"web_connectivity"}
    bodies = {item["measurement_uid"]: json.dumps(measurement(url=item["input"])) for item in page}
    with FakeOoni([page], bodies, set()) as fake, Store(tmp_path / "s.duckdb") as store:
        api = OoniApi(fake.url, requests_per_second=0)
        query = ApiQuery("ES", "2026-06-11", "2026-07-12", "web_connectivity", page_size=50)
        stats = ingest_records(store, api_records(api, query))
        api.close()
        assert (stats.read, stats.stored) == (50, 50)
        assert [q["offset"] for q in fake.list_queries] == ["0", "50"]  # a full page asks for the next one
        assert all(q["test_name"] == "web_connectivity" and q["probe_cc"] == "ES" for q in fake.list_queries)
        stored = dict(store.con.execute("SELECT measurement_uid, input FROM measurements").fetchall())
        assert stored == {item["measurement_uid"]: item["input"] for item in page}


RECORDED_AGGREGATION = ("aggregation__test_name-web_connectivity_since-2022-03-01_until-2022-03-04_"
                        "axis_x-measurement_start_day_time_grain-day.json")


def _aggregation_body(*counts: int) -> str:
    rows = [{"measurement_start_day": f"2026-11-0{i + 1}", "measurement_count": n, "anomaly_count": 0,
             "confirmed_count": 0, "failure_count": 0, "ok_count": n} for i, n in enumerate(counts)]
    return json.dumps({"v": 0, "dimension_count": 1, "result": rows,
                       "db_stats": {"row_count": 1, "bytes": 1, "total_row_count": 1, "elapsed_seconds": 0.01}})


def _cli(url: str, db: Path, *extra: str, retries: int = 0,
         **popen: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "censorwatch", "ingest", "ooni", "--from-api", "--probe-cc", "ru", "--since",
         "2026-11-01", "--until", "2026-11-03", "--api-url", url, "--rate", "0", "--retries", str(retries),
         "--db", str(db), *extra],
        capture_output=True, text=True, timeout=120, **popen,
    )


def _stored(db: Path) -> int:
    with Store(db, read_only=True) as store:
        row = store.con.execute("SELECT count(*) FROM measurements").fetchone()
    assert row is not None
    return int(row[0])


def test_aggregation_goes_through_retries_and_rate_limit() -> None:
    pages, bodies = _synthetic(3, 10)
    with FakeOoni(pages, bodies, set(), aggregation=_aggregation_body(2, 1), aggregation_busy=1) as fake:
        slept: list[float] = []
        api = OoniApi(fake.url, requests_per_second=0, backoff=0.01, sleep=slept.append)
        counted = api.count_measurements(ApiQuery("RU", "2026-11-01", "2026-11-03", "web_connectivity"))
        api.close()
        assert counted.total == 3
        assert len(fake.aggregation_queries) == 2  # one 503, then the answer
        assert slept == [0.01]
        assert fake.aggregation_queries[-1] == {
            "probe_cc": "RU", "since": "2026-11-01", "until": "2026-11-03", "test_name": "web_connectivity",
            "axis_x": "measurement_start_day", "time_grain": "day"}
        fake.times.clear()
        api = OoniApi(fake.url, requests_per_second=20)
        api.count_measurements(ApiQuery("RU", "2026-11-01", "2026-11-03"))
        records = list(api_records(api, ApiQuery("RU", "2026-11-01", "2026-11-03", page_size=10)))
        api.close()
    assert len(records) == 3
    gaps = [b - a for a, b in zip(fake.times, fake.times[1:], strict=False)]
    assert len(gaps) == 4 and min(gaps) >= 0.035  # the aggregation call waits its turn like the others


@pytest.mark.parametrize(
    ("body", "status", "problem"),
    [
        ('{"error": "Invalid since and until values", "v": 0}', 200, "OONI answered an error"),
        ("<html>gateway</html>", 200, "not JSON"),
        ('{"v": 0, "dimension_count": 1, "result": {"measurement_count": 25}}', 200, "no result list"),
        ('{"detail": "bad"}', 400, "HTTP 400"),
    ],
)
def test_unusable_aggregation_errors(body: str, status: int, problem: str) -> None:
    with FakeOoni([[]], {}, set(), aggregation=body, aggregation_status=status) as fake:
        api = OoniApi(fake.url, requests_per_second=0)
        with pytest.raises(ApiError, match=problem):
            api.count_measurements(ApiQuery("RU", "2026-11-01", "2026-11-03"))
        api.close()


def test_cli_shows_oonis_total(tmp_path: Path) -> None:
    pages, bodies = _synthetic(25, 100)
    with FakeOoni(pages, bodies, set(), aggregation=_aggregation_body(20, 5)) as fake:
        done = _cli(fake.url, tmp_path / "s.duckdb", "--test-name", "web_connectivity")
    assert done.returncode == 0, done.stderr
    assert "OONI's aggregation counts 25 measurements over 2 days" in done.stderr
    assert "OONI counted 25 measurements for this query; fetched 25" in done.stderr
    assert "stored 25" in done.stderr
    assert fake.aggregation_queries == [{
        "probe_cc": "RU", "since": "2026-11-01", "until": "2026-11-03", "test_name": "web_connectivity",
        "axis_x": "measurement_start_day", "time_grain": "day"}]
    assert _stored(tmp_path / "s.duckdb") == 25


def test_cli_total_from_a_partly_malformed_aggregation(tmp_path: Path) -> None:
    pages, bodies = _synthetic(25, 100)
    body = json.loads(_aggregation_body(20, 5))
    body["result"][1]["measurement_count"] = "5"
    with FakeOoni(pages, bodies, set(), aggregation=json.dumps(body)) as fake:
        done = _cli(fake.url, tmp_path / "s.duckdb")
    assert done.returncode == 0, done.stderr
    assert ("OONI's aggregation counts 20 measurements over 1 day (a lower bound: 1 malformed rows skipped, "
            "row 1: measurement_count is not a non-negative integer: '5')") in done.stderr
    assert "OONI counted 20 measurements for this query; fetched 25" in done.stderr


def test_cli_replays_recorded_aggregation(shared_data: Path, tmp_path: Path) -> None:
    envelope = json.loads((shared_data / "ooni" / "api_responses" / RECORDED_AGGREGATION).read_text("utf-8"))
    pages, bodies = _synthetic(12, 100)
    with FakeOoni(pages, bodies, set(), aggregation=envelope["body"],
                  aggregation_status=envelope["status"]) as fake:
        done = _cli(fake.url, tmp_path / "s.duckdb")
    assert done.returncode == 0, done.stderr
    # The recorded real answer: 1113357 + 1212215 + 1161898 web_connectivity measurements over three days.
    assert "OONI's aggregation counts 3487470 measurements over 3 days" in done.stderr
    assert "OONI counted 3487470 measurements for this query; fetched 12" in done.stderr
    assert _stored(tmp_path / "s.duckdb") == 12


@pytest.mark.parametrize(
    ("body", "status", "retries"),
    [
        ('{"error": "Choose time_grain between day, week for the given time range", "v": 0}', 200, 0),
        ("busy\nand a second line", 500, 1),  # retried once like every call, then given up on
        ("no such\nroute here", 404, 0),  # a multi-line body still makes one log line
    ],
)
def test_cli_failing_aggregation_does_not_stop_ingest(tmp_path: Path, body: str | None, status: int,
                                                      retries: int) -> None:
    pages, bodies = _synthetic(25, 100)
    with FakeOoni(pages, bodies, set(), aggregation=body, aggregation_status=status) as fake:
        done = _cli(fake.url, tmp_path / "s.duckdb", retries=retries)
    assert done.returncode == 0, done.stderr
    notes = [line for line in done.stderr.splitlines() if "aggregation" in line]
    assert len(notes) == 1 and notes[0].startswith("no total from OONI's aggregation, going on without one")
    if status == 404:
        assert notes[0].endswith("aggregation answered HTTP 404: no such route here")
    assert "OONI counted" not in done.stderr
    assert "read 25 records: stored 25" in done.stderr
    assert len(fake.aggregation_queries) == retries + 1
    assert _stored(tmp_path / "s.duckdb") == 25


def test_cli_bar_has_a_total_on_a_terminal(tmp_path: Path) -> None:
    pty = pytest.importorskip("pty")
    pages, bodies = _synthetic(25, 100)
    leader, follower = pty.openpty()
    chunks: list[bytes] = []
    with FakeOoni(pages, bodies, set(), aggregation=_aggregation_body(20, 5)) as fake:
        child = subprocess.Popen(
            [sys.executable, "-m", "censorwatch", "ingest", "ooni", "--from-api", "--probe-cc", "RU", "--since",
             "2026-11-01", "--until", "2026-11-03", "--api-url", fake.url, "--rate", "0",
             "--db", str(tmp_path / "s.duckdb")],
            stdout=subprocess.DEVNULL, stderr=follower, env={**os.environ, "TERM": "xterm", "COLUMNS": "160"},
        )
        os.close(follower)  # only the child holds the terminal now: reading ends with EIO when it exits
        try:
            # Read while it runs, so a chatty bar can never fill the terminal's buffer and block the child.
            while True:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                chunks.append(chunk)
            returncode = child.wait(timeout=60)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
            os.close(leader)
    screen = b"".join(chunks).decode("utf-8", "replace")
    assert returncode == 0, screen
    assert "25/25" in screen  # rich's M-of-N column: the total came from OONI's count
    assert "100%" in screen
