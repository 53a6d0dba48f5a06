"""`events watch`: alerts POSTed to a real HTTP receiver on 127.0.0.1 started by the test, which
fails first and then takes them; nothing posted twice across restarts (also after kill -9); an
ended event posted again as "end", a vanished one as "retracted"."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from censorwatch.analysis.events.alerts import subscriber_id
from censorwatch.analysis.events.detector import HOUR_US
from censorwatch.analysis.events.listing import Filters
from censorwatch.analysis.events.synthetic import EPOCH_US
from censorwatch.analysis.events.synthetic_store import insert_rows
from censorwatch.services.alerts import Retry, WatchOptions, Webhook, one_pass
from censorwatch.store import Store
from tests.integration.test_registry_cli import run

pytestmark = pytest.mark.integration

DAY = 24 * HOUR_US
FAST = Retry(attempts=3, first_delay=0.01)


class Receiver:
    """An HTTP server on a free loopback port that answers each POST with the next scripted
    status (200 once the script runs out; None: close the connection without an answer)."""

    def __init__(self, script: list[int | None] | None = None) -> None:
        self.script = list(script or [])
        self.got: list[dict[str, Any]] = []  # bodies the receiver answered 2xx to
        self.keys: list[str] = []
        self.tries = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.tries += 1
                status = receiver.script.pop(0) if receiver.script else 200
                if status is None:
                    self.close_connection = True
                    return
                if 200 <= status < 300:
                    receiver.got.append(json.loads(body))
                    receiver.keys.append(self.headers["Idempotency-Key"])
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook?token=secret"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def kinds(self) -> list[tuple[str, str | None]]:
        return [(body["alert"], body["probe_asn"]) for body in self.got]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    served = Receiver()
    yield served
    served.close()


def _rows(asn: str, first_day: int, last_day: int, blocked_from: int, blocked_to: int | None):
    """Four measurements a day of news.example in IR; anomalous (DNS) from `blocked_from`."""
    for index in range(first_day * 4, last_day * 4):
        t = EPOCH_US + index * DAY // 4 + int(asn[2:]) * 1000
        day = index // 4
        on = blocked_from <= day and (blocked_to is None or day <= blocked_to)
        verdict = "anomaly" if on else "ok"
        yield ("news.example", "IR", asn), (t, verdict, "dns" if on else None, f"{asn}-{index}")


def _fill(db: Path, first_day: int, last_day: int) -> None:
    """AS1 and AS2 block from day 20; AS1 stops after day 40."""
    with Store(db) as store:
        insert_rows(store.con, _rows("AS1", first_day, last_day, 20, 40))
        insert_rows(store.con, _rows("AS2", first_day, last_day, 20, None))


def _pass(db: Path, url: str, detect: bool = True, retry: Retry = FAST) -> Any:
    hook = Webhook(url, timeout=5, retry=retry, sleep=lambda _: None)
    try:
        return one_pass(WatchOptions(db, Filters(), detect), hook)
    finally:
        hook.close()


def test_failing_first_then_taking_every_alert_once(db_file: Path) -> None:
    _fill(db_file, 0, 30)
    flaky = Receiver([503, None, 200])  # the first alert is taken on its third try
    try:
        first = _pass(db_file, flaky.url)
        assert first.delivered == {"start": 3, "end": 0, "retracted": 0} and not first.failed
        assert flaky.tries == 5 and sorted(flaky.kinds(), key=str) == [
            ("start", "AS1"), ("start", "AS2"), ("start", None)]
        again = _pass(db_file, flaky.url)
        assert again.delivered["start"] == 0 and flaky.tries == 5  # a new pass (a restart) posts nothing
    finally:
        flaky.close()
    with Store(db_file, read_only=True) as store:
        stored = store.con.execute("SELECT DISTINCT subscriber FROM events_alerts").fetchall()
    assert stored == [(subscriber_id(flaky.url),)]  # the URL (with its token) is not in the store


def test_payload_is_the_listed_event_with_id_and_alert(db_file: Path, receiver: Receiver) -> None:
    _fill(db_file, 0, 30)
    _pass(db_file, receiver.url)
    code, out, err = run("events", "list", "--format", "json", "--db", str(db_file))
    assert code == 0, err
    listed = json.loads(out)
    posted = [{k: v for k, v in body.items() if k not in ("id", "alert")} for body in receiver.got]
    assert sorted(posted, key=str) == sorted(listed, key=str)
    assert len({body["id"] for body in receiver.got}) == 3
    assert receiver.keys == [f"{body['id']}:start" for body in receiver.got]


def test_an_ended_event_is_posted_again_and_a_vanished_one_retracted(db_file: Path, receiver: Receiver) -> None:
    _fill(db_file, 0, 30)
    _pass(db_file, receiver.url)
    started = {body["probe_asn"]: body for body in receiver.got}
    _fill(db_file, 30, 60)
    second = _pass(db_file, receiver.url)
    assert second.delivered == {"start": 0, "end": 1, "retracted": 0}
    ended = receiver.got[-1]
    assert ended["alert"] == "end" and ended["probe_asn"] == "AS1" and ended["end"] is not None
    assert ended["id"] == started["AS1"]["id"] and ended["start"] == started["AS1"]["start"]
    with Store(db_file) as store:  # as a recomputation after late measurements would
        store.con.execute("DELETE FROM events WHERE probe_asn = 'AS2'")
    third = _pass(db_file, receiver.url, detect=False)
    assert third.delivered == {"start": 0, "end": 0, "retracted": 1}
    assert receiver.got[-1] == {**started["AS2"], "alert": "retracted"}
    with Store(db_file) as store:  # an ended event that vanishes is withdrawn too
        store.con.execute("DELETE FROM events WHERE probe_asn = 'AS1'")
    assert _pass(db_file, receiver.url, detect=False).delivered == {"start": 0, "end": 0, "retracted": 1}
    assert receiver.got[-1]["id"] == started["AS1"]["id"] and receiver.got[-1]["end"] is None
    assert _pass(db_file, receiver.url, detect=False).delivered == {"start": 0, "end": 0, "retracted": 0}


def test_an_unreachable_receiver_leaves_everything_for_the_next_pass(db_file: Path, receiver: Receiver) -> None:
    _fill(db_file, 0, 30)
    down = Receiver()
    url = down.url
    down.close()  # nothing listens there any more
    result = _pass(db_file, url)
    assert result.delivered["start"] == 0 and result.left == 3 and len(result.failed) == 1
    refused = Receiver([400])  # a receiver that refuses one alert still gets the others
    try:
        result = _pass(db_file, refused.url)
        assert result.delivered["start"] == 2 and result.left == 1 and "HTTP 400" in result.failed[0]
        assert refused.tries == 3  # a 400 is not retried
        result = _pass(db_file, refused.url)
        assert result.delivered["start"] == 1 and result.left == 0
    finally:
        refused.close()


def test_cli_once_and_exit_status(db_file: Path, receiver: Receiver) -> None:
    _fill(db_file, 0, 30)
    code, _, err = run("events", "watch", "--webhook", receiver.url, "--once", "--db", str(db_file))
    assert code == 0, err
    assert "posted 3 start, 0 end, 0 retracted" in err and len(receiver.got) == 3
    code, _, err = run("events", "watch", "--webhook", receiver.url, "--once", "--db", str(db_file))
    assert code == 0 and "posted 0 start" in err and len(receiver.got) == 3
    down = Receiver()
    url = down.url
    down.close()
    code, _, err = run("events", "watch", "--webhook", url, "--once", "--retries", "0", "--db", str(db_file))
    assert code == 1 and "3 waiting for the next pass" in err
    code, _, err = run("events", "watch", "--webhook", "ftp://example/", "--once", "--db", str(db_file))
    assert code == 2 and "http:// or https://" in err


def test_killed_watch_posts_nothing_twice_after_a_restart(db_file: Path, receiver: Receiver, tmp_path: Path) -> None:
    _fill(db_file, 0, 60)
    command = [sys.executable, "-m", "censorwatch", "events", "watch", "--webhook", receiver.url,
               "--interval", "1", "--db", str(db_file)]
    with open(tmp_path / "watch.log", "wb") as log:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log)
    try:
        deadline = time.monotonic() + 60
        while len(receiver.got) < 4 and time.monotonic() < deadline:  # 3 starts and AS1's end
            time.sleep(0.1)
        assert len(receiver.got) == 4, (tmp_path / "watch.log").read_text()
        time.sleep(1.5)  # a pass or two more, which must post nothing
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    code, _, err = run("events", "watch", "--webhook", receiver.url, "--once", "--db", str(db_file))
    assert code == 0, err
    assert len(receiver.got) == 4 and len(set(receiver.keys)) == 4
    with open(tmp_path / "watch2.log", "wb") as log:  # SIGTERM ends a watch cleanly between passes
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log)
    try:
        deadline = time.monotonic() + 60
        while b"pass 1:" not in (tmp_path / "watch2.log").read_bytes() and time.monotonic() < deadline:
            time.sleep(0.1)  # the handler is in place once a pass has run
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, (tmp_path / "watch2.log").read_text()
    finally:
        if process.poll() is None:
            process.kill()
    assert len(receiver.got) == 4
