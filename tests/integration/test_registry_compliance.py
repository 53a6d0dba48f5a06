"""`censorwatch registry compliance`: stored verdicts joined with the register snapshot in effect
when each measurement was taken, per network and snapshot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from censorwatch.store import Store
from tests.integration.test_registry_cli import run
from tests.unit.test_aggregates import stored

pytestmark = pytest.mark.integration

MARCH_1 = [
    "1.1.1.1;blocked.example;;суд;1/2024;2024-01-01",
    "2.2.2.2;pages.example;http://pages.example/one;суд;2/2024;2024-01-01",
    "3.3.3.3;*.wild.example;;ФНС;3/2024;2024-01-01",
]
MARCH_10 = [*MARCH_1, "4.4.4.4;late.example;;суд;4/2024;2024-03-05"]

MEASUREMENTS = [
    # AS1, while the 1 March snapshot was in effect
    ("m1", "AS1", "https://blocked.example/", "2024-03-02 10:00:00", "anomaly"),
    ("m2", "AS1", "https://blocked.example/", "2024-03-03 10:00:00", "confirmed"),
    ("m3", "AS1", "http://pages.example/one", "2024-03-02 10:00:00", "confirmed"),
    ("m4", "AS1", "http://pages.example/other", "2024-03-02 10:00:00", "anomaly"),
    ("m5", "AS1", "https://www.wild.example/", "2024-03-02 10:00:00", "ok"),
    ("m6", "AS1", "https://free.example/", "2024-03-02 10:00:00", "anomaly"),
    ("m7", "AS1", "https://fine.example/", "2024-03-02 10:00:00", "ok"),
    ("m8", "AS1", "https://late.example/", "2024-03-05 10:00:00", "anomaly"),
    ("m9", "AS1", "https://fine.example/", "2024-03-04 10:00:00", "failure"),
    # AS1, 10 March snapshot: late.example is now ordered
    ("n1", "AS1", "https://late.example/", "2024-03-11 10:00:00", "anomaly"),
    # AS2 mostly lets blocked.example through
    ("p1", "AS2", "https://blocked.example/", "2024-03-02 10:00:00", "ok"),
    ("p2", "AS2", "https://blocked.example/", "2024-03-03 10:00:00", "ok"),
    ("p3", "AS2", "https://blocked.example/", "2024-03-04 10:00:00", "anomaly"),
    # before any snapshot, and another country
    ("q1", "AS1", "https://blocked.example/", "2024-02-20 10:00:00", "anomaly"),
    ("r1", "AS9", "https://blocked.example/", "2024-03-02 10:00:00", "anomaly"),
]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "c.duckdb"
    rows = [
        (uid, "IR" if asn == "AS9" else "RU", asn, url, "web_connectivity", when, verdict,
         None if verdict in ("ok", "failure") else "dns")
        for uid, asn, url, when, verdict in MEASUREMENTS
    ]
    with Store(path) as store:
        store.add(map(stored, rows))
    for name, day, lines in (("a.csv", "2024-03-01", MARCH_1), ("b.csv", "2024-03-10", MARCH_10)):
        dump = tmp_path / name
        dump.write_bytes(("\n".join([f"Updated: {day} 06:00:00 +0000", *lines]) + "\n").encode("cp1251"))
        code, _, err = run("ingest", "registry-ru", str(dump), "--db", str(path))
        assert code == 0, err
    return path


def test_buckets_per_network_and_snapshot(db: Path) -> None:
    code, out, err = run("registry", "compliance", "--country", "ru", "--format", "json", "--db", str(db))
    assert code == 0, err
    report = json.loads(out)
    rows = {(r["probe_asn"], r["snapshot"]): r for r in report["networks"]}
    assert set(rows) == {("AS1", "2024-03-01"), ("AS1", "2024-03-10"), ("AS2", "2024-03-01")}
    first = rows[("AS1", "2024-03-01")]
    assert first["registered_blocked"] == 2
    assert sorted(first["examples"]["registered_blocked"]) == ["http://pages.example/one", "https://blocked.example/"]
    assert first["examples"]["registered_reachable"] == ["https://www.wild.example/"]
    assert sorted(first["examples"]["blocked_unregistered"]) == ["https://free.example/", "https://late.example/"]
    assert first["examples"]["blocked_host_listed"] == ["http://pages.example/other"]
    assert first["examples"]["reachable_unregistered"] == ["https://fine.example/"]
    assert first["targets"] == 7 and first["measurements"] == 8  # the failure says nothing
    assert rows[("AS1", "2024-03-10")]["examples"]["registered_blocked"] == ["https://late.example/"]
    second_network = rows[("AS2", "2024-03-01")]
    assert second_network["registered_reachable"] == 1 and second_network["registered_blocked_share"] == 0.0
    assert report["measurements_before_first_snapshot"] == 1


def test_table_and_period_filter(db: Path) -> None:
    code, out, err = run("registry", "compliance", "--country", "RU", "--since", "2024-03-10", "--db", str(db))
    assert code == 0, err
    assert "AS1" in out and "2024-03-10" in out and "2024-03-01" not in out


def test_without_register_data_says_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "none.duckdb"
    with Store(path) as store:
        store.add(map(stored, [("x", "RU", "AS1", "https://a.example/", "web_connectivity", "2024-03-02 10:00:00",
                                "ok", None)]))
    code, _, err = run("registry", "compliance", "--country", "RU", "--db", str(path))
    assert code == 2 and "ingest registry-ru" in err
