"""Diffusion between two countries and blocking after documented requests (analysis/diffusion.py),
on made-up measurements, events and requests in a real store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest

from censorwatch.analysis.diffusion import (
    DiffusionError,
    DiffusionQuery,
    asked_start,
    choose_source,
    diffusion,
    hostname_key,
)
from censorwatch.analysis.events import tables
from censorwatch.archive.request_store import RequestStore
from censorwatch.archive.requests import build_request
from censorwatch.store import Store
from tests.unit.test_aggregates import stored

# (uid, cc, asn, input, time, verdict)
MEASUREMENTS = [
    ("r1", "RU", "AS1", "https://news.example/a", "2024-01-10 10:00:00", "anomaly"),
    ("r2", "RU", "AS2", "https://www.news.example/", "2024-01-12 10:00:00", "confirmed"),
    ("b0", "BY", "AS9", "https://news.example/", "2024-01-05 10:00:00", "ok"),
    ("b1", "BY", "AS9", "https://news.example/", "2024-01-15 10:00:00", "ok"),  # reachable after RU blocked it
    ("b2", "BY", "AS9", "https://news.example/", "2024-01-20 10:00:00", "anomaly"),
    ("b3", "BY", "AS8", "https://news.example/b", "2024-01-21 10:00:00", "anomaly"),
    ("r3", "RU", "AS1", "https://www.video.example/", "2024-02-01 00:00:00", "anomaly"),
    ("b4", "BY", "AS9", "https://video.example/", "2024-02-10 00:00:00", "anomaly"),  # first measured blocked
    ("b5", "BY", "AS9", "https://early.example/", "2024-01-01 10:00:00", "anomaly"),
    ("r4", "RU", "AS1", "https://early.example/", "2024-01-05 10:00:00", "anomaly"),  # BY blocked it first
    ("r5", "RU", "AS1", "https://ru-only.example/", "2024-01-05 10:00:00", "anomaly"),
    ("r6", "RU", "AS1", "http://пример.рф/", "2024-03-01 00:00:00", "anomaly"),
    ("b6", "BY", "AS9", "http://xn--e1afmkfd.xn--p1ai/", "2024-03-02 12:00:00", "anomaly"),
    ("b7", "BY", "AS9", "https://early.example/", "2024-01-26 10:00:00", "ok"),
    ("k1", "KZ", "AS7", "https://news.example/", "2024-01-11 10:00:00", "anomaly"),  # a third country
]

REQUESTS = [
    {"id": "req-1", "requester": "Roskomnadzor", "recipient": "Belarusian ISPs", "date": "2024-01-14",
     "action": "block", "targets": ["https://news.example/page", "@someone"]},
    {"id": "req-2", "requester": "Roskomnadzor", "recipient": "Belarusian ISPs", "date": "2024-02",
     "action": "block", "targets": ["video.example"]},
    {"id": "req-3", "requester": "A court", "recipient": "Beltelecom", "date": "2024-01-25", "action": "block",
     "targets": ["early.example"]},
]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    rows = [(uid, cc, asn, url, "web_connectivity", when, verdict, None if verdict == "ok" else "dns")
            for uid, cc, asn, url, when, verdict in MEASUREMENTS]
    with Store(tmp_path / "d.duckdb") as opened:
        opened.add(map(stored, rows))
        yield opened


def _save_requests(store: Store) -> None:
    requests = RequestStore(store.con, writable=True)
    report = requests.save(((f"record {n}", build_request(record, f"record {n}"))
                            for n, record in enumerate(REQUESTS)), origin="test")
    assert report.added == len(REQUESTS)


@pytest.mark.parametrize(("host", "key"), [
    ("www.Example.COM.", "example.com"), ("www.com", "www.com"), ("m.example.com", "m.example.com"),
    ("пример.рф", "xn--e1afmkfd.xn--p1ai"), ("www.пример.рф", "xn--e1afmkfd.xn--p1ai"),
    ("telegram", None), ("", None), (None, None), ("bad host.example", None), ("192.0.2.1", "192.0.2.1"),
])
def test_hostname_key(host: str | None, key: str | None) -> None:
    assert hostname_key(host) == key


def test_asked_start() -> None:
    assert asked_start("2024") == datetime(2024, 1, 1)
    assert asked_start("2024-02") == datetime(2024, 2, 1)
    assert asked_start("2024-02-05") == datetime(2024, 2, 5)


def test_pairs_from_measurements(store: Store) -> None:
    result = diffusion(store.con, DiffusionQuery("BY", "RU"))
    assert result["source"] == "measurements"
    pairs = {pair["hostname"]: pair for pair in result["pairs"]}
    assert list(pairs) == ["news.example", "video.example", "xn--e1afmkfd.xn--p1ai"]
    news = pairs["news.example"]
    assert news["lag_days"] == 10.0 and news["lag_upper_bound"] is False
    assert news["from"] == {"country": "RU", "first_blocked": "2024-01-10 10:00:00", "uid": "uid-r1",
                            "uid_time": "2024-01-10 10:00:00", "network": "AS1", "networks": ["AS1", "AS2"],
                            "blocking": "dns"}
    assert news["to"]["uid"] == "uid-b2" and news["to"]["networks"] == ["AS9", "AS8"]
    assert news["to"]["first_measured"] == "2024-01-05 10:00:00"
    video = pairs["video.example"]
    assert video["lag_days"] == 9.0 and video["lag_upper_bound"] is True  # BY's first look was blocked
    assert pairs["xn--e1afmkfd.xn--p1ai"]["lag_days"] == 1.5
    assert result["summary"] == {"blocked_in_from": 5, "blocked_in_to": 4, "blocked_in_both": 4, "followed": 3,
                                 "preceded": 1, "same_time": 0}
    assert result["requests"] == [] and result["archive"] is False


def test_since_keeps_later_onsets_in_the_first_country(store: Store) -> None:
    result = diffusion(store.con, DiffusionQuery("BY", "RU", since=date(2024, 1, 20)))
    assert [pair["hostname"] for pair in result["pairs"]] == ["video.example", "xn--e1afmkfd.xn--p1ai"]
    assert result["summary"]["blocked_in_from"] == 2


def test_requests_join_the_first_blocking_after_the_day_asked(store: Store) -> None:
    _save_requests(store)
    result = diffusion(store.con, DiffusionQuery("BY", "RU"))
    requests = {row["request_id"]: row for row in result["requests"]}
    news = requests["req-1"]
    assert news == {
        "request_id": "req-1", "requester": "Roskomnadzor", "recipient": "Belarusian ISPs", "action": "block",
        "asked": "2024-01-14", "target": "https://news.example/page", "hostname": "news.example", "country": "BY",
        "first_blocked": "2024-01-20 10:00:00", "network": "AS9", "networks": ["AS9", "AS8"], "uid": "uid-b2",
        "lag_days": 6.417, "blocked_before_asked": None, "measured_after": 3,
    }
    assert requests["req-2"]["asked"] == "2024-02" and requests["req-2"]["lag_days"] == 9.0
    early = requests["req-3"]
    assert early["first_blocked"] is None and early["blocked_before_asked"] == "2024-01-01 10:00:00"
    assert early["measured_after"] == 1
    assert result["counted"]["request_targets_without_hostname"] == 1  # the account
    only_court = diffusion(store.con, DiffusionQuery("BY", requester="court"))
    assert "pairs" not in only_court and [row["request_id"] for row in only_court["requests"]] == ["req-3"]


def _event(target: str, cc: str, asn: str, start: str, uid: str) -> tuple[object, ...]:
    when = datetime.fromisoformat(start)
    return (target, cc, asn, "dns", when, None, True, 0.9, [], 10, 0, 20, 18, 0, uid, uid, when, None)


def test_events_are_used_when_detection_ran(store: Store) -> None:
    with pytest.raises(DiffusionError):
        choose_source(store.con, "events")
    tables.ensure(store.con)
    store.con.executemany(f"INSERT INTO events ({', '.join(tables.EVENT_COLUMNS)}) VALUES "
                          f"({', '.join('?' for _ in tables.EVENT_COLUMNS)})", [
        _event("news.example", "RU", "AS1", "2024-01-09 22:00:00", "uid-r1"),
        _event("news.example", "BY", "AS9", "2024-01-19 22:00:00", "uid-b2"),
    ])
    assert choose_source(store.con, "auto") == "measurements"  # no finished run yet
    store.con.execute("INSERT INTO events_runs (run_id, started, finished, status, mode) "
                      "VALUES (1, now(), now(), 'finished', 'full')")
    result = diffusion(store.con, DiffusionQuery("BY", "RU"))
    assert result["source"] == "events"
    (pair,) = result["pairs"]
    assert pair["lag_days"] == 10.0 and pair["from"]["first_blocked"] == "2024-01-09 22:00:00"
    assert pair["from"]["uid_time"] == "2024-01-10 10:00:00"  # the evidence came after the estimated onset
    forced = diffusion(store.con, DiffusionQuery("BY", "RU", source="measurements"))
    assert len(forced["pairs"]) == 3


def test_temporary_tables_are_dropped(store: Store) -> None:
    _save_requests(store)
    diffusion(store.con, DiffusionQuery("BY", "RU"))
    left = store.con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE 'df_%'").fetchall()
    assert left[0][0] == 0
