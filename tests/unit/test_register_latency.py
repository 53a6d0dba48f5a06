"""Compliance latency with the register (analysis/register_latency.py) on a real store: three
weekly snapshots and made-up measurements whose every figure is worked out by hand below."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from censorwatch.analysis.compliance import covers
from censorwatch.analysis.register_latency import LatencyWindow, grace_days, register_latency
from censorwatch.sources.registry_ingest import ingest_files
from censorwatch.store import Store
from censorwatch.store.registry import RegistryStore
from tests.unit.test_aggregates import stored

S1 = [
    "1.1.1.1;a.example;;суд;1/2024;2024-01-01",
    "2.2.2.2;pages.example;http://pages.example/one;суд;2/2024;2024-01-01",
    "3.3.3.3;*.wild.example;;ФНС;3/2024;2024-01-01",
    "4.4.4.4;root.example;http://root.example/;суд;5/2024;2024-01-01",
    "9.9.9.9;;;суд;6/2024;2024-01-01",
]
S2 = [*S1, "5.5.5.5;late.example;;суд;10/2024;2024-01-07", "6.6.6.6;gone.example;;суд;11/2024;2024-01-07"]
S3 = [*S1, "5.5.5.5;late.example;;суд;10/2024;2024-01-07", "7.7.7.7;later.example;;суд;12/2024;2024-01-14",
      "8.8.8.8;early.example;;суд;13/2024;2024-01-14"]
SNAPSHOTS = (("s1.csv", "2024-01-01", S1), ("s2.csv", "2024-01-08", S2), ("s3.csv", "2024-01-15", S3))

# (uid, asn, input, time, verdict); snapshots at 06:00 UTC on 1, 8 and 15 January.
MEASUREMENTS = [
    ("a1", "AS1", "https://a.example/", "2024-01-02 10:00:00", "anomaly"),  # listed in the first snapshot
    ("l0", "AS1", "https://late.example/", "2024-01-07 10:00:00", "ok"),  # perhaps not listed yet
    ("l1", "AS1", "https://late.example/", "2024-01-08 18:00:00", "confirmed"),  # 0.5 day after its snapshot
    ("t1", "AS1", "https://later.example/x", "2024-01-18 06:00:00", "anomaly"),  # 3 days, first measurement
    ("p1", "AS1", "http://pages.example/one", "2024-01-03 10:00:00", "ok"),  # listed URL, never blocked
    ("p2", "AS1", "http://pages.example/other", "2024-01-03 10:00:00", "anomaly"),  # host listed for another page
    ("w1", "AS1", "https://www.wild.example/", "2024-01-03 10:00:00", "anomaly"),  # wildcard
    ("f1", "AS1", "https://free.example/", "2024-01-05 10:00:00", "anomaly"),  # not in the register
    ("f2", "AS1", "https://free.example/", "2024-01-06 10:00:00", "anomaly"),
    ("f3", "AS1", "https://free.example/", "2024-02-10 10:00:00", "anomaly"),  # after the register + grace
    ("e1", "AS1", "https://early.example/", "2024-01-02 10:00:00", "anomaly"),  # blocked before it was listed
    ("e2", "AS1", "https://early.example/", "2024-01-16 10:00:00", "anomaly"),
    ("g1", "AS1", "https://gone.example/", "2024-01-09 09:00:00", "anomaly"),  # 1.125 days
    ("g2", "AS1", "https://gone.example/", "2024-01-20 10:00:00", "ok"),  # removed by then
    ("r1", "AS1", "http://root.example/page", "2024-01-03 10:00:00", "anomaly"),  # the root URL orders the domain
    ("i1", "AS1", "http://9.9.9.9/", "2024-01-03 10:00:00", "anomaly"),  # an address-only entry
    ("b1", "AS1", "https://a.example/", "2023-12-30 10:00:00", "anomaly"),  # before the first snapshot
    ("x1", "AS1", "https://a.example/", "2024-01-04 10:00:00", "failure"),
    ("x2", "AS1", "not a url at all", "2024-01-04 10:00:00", "anomaly"),
    ("c1", "AS2", "https://late.example/", "2024-01-09 10:00:00", "ok"),
    ("c2", "AS2", "https://late.example/", "2024-01-10 10:00:00", "ok"),
    ("c3", "AS2", "https://a.example/", "2024-01-02 06:00:00", "anomaly"),
    ("z1", "AS9", "https://a.example/", "2024-01-02 06:00:00", "anomaly"),  # another country
]


def _dump(path: Path, day: str, lines: list[str]) -> Path:
    path.write_bytes(("\n".join([f"Updated: {day} 06:00:00 +0000", *lines]) + "\n").encode("cp1251"))
    return path


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    rows = [(uid, "BY" if asn == "AS9" else "RU", asn, url, "web_connectivity", when, verdict,
             None if verdict in ("ok", "failure") else "dns") for uid, asn, url, when, verdict in MEASUREMENTS]
    with Store(tmp_path / "l.duckdb") as opened:
        opened.add(map(stored, rows))
        files = [_dump(tmp_path / name, day, lines) for name, day, lines in SNAPSHOTS]
        report = ingest_files(opened.con, files, None, False)
        assert not report.failed_files
        yield opened


def test_figures_per_network(store: Store) -> None:
    report = register_latency(store.con, LatencyWindow("RU", examples=10)).as_dict()
    networks = {row["probe_asn"]: row for row in report["networks"]}
    assert set(networks) == {"AS1", "AS2"}
    first = networks["AS1"]
    # a, late, later, pages/one, *.wild, early, gone, root, 9.9.9.9
    assert first["entries_measured"] == 9 and first["entries_blocked"] == 8 and first["never_blocked"] == 1
    assert first["blocked_share"] == round(8 / 9, 4)
    assert first["examples"]["never_blocked"] == ["http://pages.example/one"]
    assert first["latency_entries"] == 3  # late 0.5, gone 1.125, later 3.0
    assert first["latency_median_days"] == 1.125 and first["latency_p90_days"] == 2.625
    assert first["blocked_within_1_day"] == 1 and first["blocked_within_1_day_share"] == round(1 / 3, 4)
    assert first["blocked_at_first_measurement"] == 2  # later, gone
    assert first["listed_before_first_snapshot"] == 4  # a, *.wild, root, 9.9.9.9
    assert first["blocked_before_listed"] == 1  # early
    assert first["examples"]["slowest"] == ["later.example", "gone.example", "late.example"]
    # free (twice blocked before the grace ran out), early (before its listing); pages/other is its
    # host's; gone was measured (ok) after its removal
    assert first["unlisted_targets"] == 4 and first["unlisted_blocked"] == 2
    assert first["unlisted_blocked_host_listed"] == 1
    assert first["examples"]["unlisted_blocked"] == ["https://free.example/", "https://early.example/"]
    second = networks["AS2"]
    assert (second["entries_measured"], second["entries_blocked"], second["never_blocked"]) == (2, 1, 1)
    assert second["latency_median_days"] is None and second["blocked_share"] == 0.5


def test_register_window_and_counts(store: Store) -> None:
    report = register_latency(store.con, LatencyWindow("RU")).as_dict()
    register = report["register"]
    assert register["grace_days"] == 7.0 and register["judged_until"] == "2024-01-22 06:00:00"
    assert register["frozen"] is False and register["public_copy_frozen_after"] == "2024-03-04"
    counted = report["counted"]
    assert counted["after_register"] == 1 and counted["before_first_snapshot"] == 1
    assert counted["failures"] == 1 and counted["unreadable_inputs"] == 1
    assert counted["unreadable_input_measurements"] == 1
    assert any("not judged" in note for note in report["notes"])


def test_window_and_grace_options(store: Store) -> None:
    late = register_latency(store.con, LatencyWindow("RU", since=date(2024, 1, 8), grace_days=30)).as_dict()
    assert late["register"]["judged_until"] == "2024-02-14 06:00:00"
    free = late["networks"][0]
    assert free["probe_asn"] == "AS1" and free["examples"]["unlisted_blocked"] == ["https://free.example/"]
    assert late["counted"]["after_register"] == 0


def test_temporary_tables_are_dropped(store: Store) -> None:
    register_latency(store.con, LatencyWindow("RU"))
    left = store.con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE 'rl_%'").fetchall()
    assert left[0][0] == 0


# Inputs whose match is easy to get wrong: case and a trailing dot, a plain domain's
# subdomains (not ordered), a wildcard's base and deep names, a listed URL with a query, other
# pages of a listed URL's host, a site ordered through its root URL, punycode.
TRICKY = [
    "https://A.Example./", "http://a.example/x?y", "https://sub.a.example/", "https://wild.example/",
    "https://deep.www.wild.example/", "http://pages.example/one", "http://pages.example/one?x",
    "http://pages.example/other", "http://root.example/deep", "https://www.root.example/", "https://free.example/",
    "http://пример.рф/", "http://xn--e1afmkfd.xn--p1ai/page",
]


def test_the_match_agrees_with_compliance(tmp_path: Path) -> None:
    """Each input blocked after the last snapshot is unlisted exactly when `registry compliance`
    finds no entry of that snapshot ordering it, and host-listed when it finds only other pages."""
    rows = [(f"k{n}", "RU", "AS5", url, "web_connectivity", "2024-01-16 10:00:00", "anomaly", "dns")
            for n, url in enumerate(TRICKY)]
    with Store(tmp_path / "k.duckdb") as opened:
        opened.add(map(stored, rows))
        lines = [*S3, "1.2.3.4;пример.рф;;суд;7/2024;2024-01-01"]
        assert not ingest_files(opened.con, [_dump(tmp_path / "k.csv", "2024-01-15", lines)], None, False).failed_files
        report = register_latency(opened.con, LatencyWindow("RU", examples=50)).as_dict()
        registry = RegistryStore(opened.con)
        status = {}
        for url in TRICKY:
            entries = [entry for entry, dates in registry.entries_for(url) if date(2024, 1, 15) in dates]
            status[url] = ("registered" if any(covers(entry, url) for entry in entries)
                           else "host listed" if entries else "unregistered")
    (network,) = report["networks"]
    assert set(network["examples"]["unlisted_blocked"]) == {u for u, s in status.items() if s == "unregistered"}
    assert network["unlisted_blocked_host_listed"] == sum(s == "host listed" for s in status.values())
    assert network["unlisted_blocked"] + network["unlisted_blocked_host_listed"] < len(TRICKY)


@pytest.mark.parametrize(("dates", "grace"), [
    ([date(2024, 1, 1)], 7.0),
    ([date(2024, 1, 1), date(2024, 1, 2), date(2024, 1, 3)], 1.0),
    ([date(2024, 1, 1), date(2024, 1, 8), date(2024, 1, 10)], 4.5),
    ([date(2023, 1, 1), date(2024, 1, 1)], 30.0),
])
def test_grace_is_one_snapshot_interval(dates: list[date], grace: float) -> None:
    assert grace_days(dates) == grace
