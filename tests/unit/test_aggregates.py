"""Aggregates and the most-blocked report, on a real DuckDB store in a tmp dir."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from censorwatch.analysis.aggregates import DAILY_COLUMNS, REPORT_COLUMNS, Window, daily_aggregates, most_blocked
from censorwatch.model.measurement import meta_of
from censorwatch.model.verdict import Verdict
from censorwatch.store import Store, StoredMeasurement

# (uid suffix, cc, asn, input, test, time, verdict, blocking)
ROWS = [
    ("a1", "RU", "AS1", "https://blocked.example/", "web_connectivity", "2024-03-01 10:00:00", "anomaly", "dns"),
    (
        "a2",
        "RU",
        "AS1",
        "https://blocked.example/a",
        "web_connectivity",
        "2024-03-01 12:00:00",
        "confirmed",
        "http-diff",
    ),
    ("a3", "RU", "AS2", "https://blocked.example/", "web_connectivity", "2024-03-05 09:00:00", "anomaly", "tcp_ip"),
    ("a4", "RU", "AS2", "https://blocked.example/", "web_connectivity", "2024-03-06 09:00:00", "ok", None),
    ("b1", "RU", "AS1", "https://fine.example/", "web_connectivity", "2024-03-01 10:00:00", "ok", None),
    ("b2", "RU", "AS1", "https://fine.example/", "web_connectivity", "2024-03-02 10:00:00", "failure", None),
    ("c1", "RU", "AS3", None, "telegram", "2024-03-02 10:00:00", "anomaly", "tcp_ip"),
    ("c2", "RU", "AS3", None, "telegram", "2024-03-03 10:00:00", "ok", None),
    ("d1", "IR", "AS9", "https://blocked.example/", "web_connectivity", "2024-03-01 10:00:00", "anomaly", "dns"),
    ("e1", "RU", "AS1", None, "ndt", "2024-03-01 10:00:00", None, None),
]


def stored(row: tuple[str, str, str, str | None, str, str, str | None, str | None]) -> StoredMeasurement:
    uid, cc, asn, target, test, when, verdict, blocking = row
    measurement = {
        "measurement_uid": f"uid-{uid}",
        "probe_cc": cc,
        "probe_asn": asn,
        "input": target,
        "test_name": test,
        "measurement_start_time": when,
        "test_keys": {},
    }
    return StoredMeasurement(meta_of(measurement), b"{}", Verdict(verdict, blocking, "test"), "ooni")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "s.duckdb") as opened:
        opened.add(map(stored, ROWS))
        yield opened


def test_daily_counts_by_verdict_and_blocking(store: Store) -> None:
    rows = list(daily_aggregates(store, Window("RU")))
    assert all(tuple(row) == DAILY_COLUMNS for row in rows)
    key = {(r["probe_asn"], r["target"], str(r["day"])): r for r in rows}
    first = key[("AS1", "blocked.example", "2024-03-01")]
    assert (first["measurements"], first["anomaly"], first["confirmed"], first["dns"], first["http_diff"]) == (
        2,
        1,
        1,
        1,
        1,
    )
    assert key[("AS3", "telegram", "2024-03-02")]["tcp_ip"] == 1
    assert key[("AS1", "ndt", "2024-03-01")]["not_analysed"] == 1
    assert key[("AS1", "fine.example", "2024-03-02")]["failure"] == 1
    assert sum(r["measurements"] for r in rows) == 9


def test_daily_window_is_inclusive(store: Store) -> None:
    rows = list(daily_aggregates(store.con, Window("RU", date(2024, 3, 2), date(2024, 3, 3))))
    assert {str(r["day"]) for r in rows} == {"2024-03-02", "2024-03-03"}


def test_most_blocked_order_and_fields(store: Store) -> None:
    rows = most_blocked(store, Window("RU"))
    assert [r["target"] for r in rows] == ["blocked.example", "telegram"]
    top = rows[0]
    assert tuple(top) == REPORT_COLUMNS
    assert (top["measurements"], top["blocked"], top["confirmed"], top["blocked_share"]) == (4, 3, 1, 0.75)
    assert str(top["first_anomaly"]) == "2024-03-01 10:00:00"
    assert str(top["last_anomaly"]) == "2024-03-05 09:00:00"
    assert top["methods"] == ["dns", "http-diff", "tcp_ip"]
    assert top["networks"] == ["AS1", "AS2"]


def test_most_blocked_limit_and_window(store: Store) -> None:
    assert [r["target"] for r in most_blocked(store, Window("RU"), limit=1)] == ["blocked.example"]
    late = most_blocked(store, Window("RU", since=date(2024, 3, 4)))
    assert [(r["target"], r["blocked"], r["measurements"]) for r in late] == [("blocked.example", 1, 2)]
    assert most_blocked(store, Window("DE")) == []
