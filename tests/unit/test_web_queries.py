"""The query layer against a real DuckDB store: aggregates (from the aggregate tables and from
the measurements) agree with counting by hand, newest-first search pages match a full sort,
and bad filters are rejected with a reason."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import duckdb
import orjson
import pytest

from censorwatch.store.database import Store
from censorwatch.web import demo
from censorwatch.web.aggregates import aggregates_fresh, refresh_aggregates
from censorwatch.web.memo import using
from censorwatch.web.queries import (
    BadQuery,
    aggregate,
    count,
    make_filters,
    measurement,
    parse_bound,
    pick_source,
    search,
    target_filters,
    timeline_json,
)


@pytest.fixture(scope="module")
def store_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("q") / "store.duckdb"
    with Store(path) as store:
        store.add(demo.synthetic(days=12, per_day=2))
        refresh_aggregates(store.con)
    return path


@pytest.fixture
def cur(store_file: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(store_file), read_only=True)
    with using({}):
        yield con.cursor()
    con.close()


def _rows(cur: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[object, ...]]:
    return cur.execute(sql).fetchall()


def test_aggregates_are_used_and_fresh(cur: duckdb.DuckDBPyConnection) -> None:
    assert aggregates_fresh(cur)
    assert pick_source(cur, {"probe_cc", "day"}, make_filters()).table == "web_agg_country_day"
    assert pick_source(cur, {"domain"}, make_filters()).table == "web_agg_target"
    assert pick_source(cur, {"domain", "day"}, make_filters()).table == "web_agg_target_day"
    assert pick_source(cur, {"verdict"}, make_filters()).table == "measurements"
    assert pick_source(cur, {"probe_cc"}, make_filters(since="2025-05-20T10:00:00")).table == "measurements"


@pytest.mark.parametrize("axes", [["country"], ["day"], ["network"], ["target"], ["day", "country"], ["test"]])
def test_aggregate_matches_counting_by_hand(cur: duckdb.DuckDBPyConnection, axes: list[str]) -> None:
    columns = {"country": "probe_cc", "day": "CAST(measurement_start_time AS DATE)", "network": "probe_asn",
               "target": "domain", "test": "test_name"}
    expected: Counter[tuple[object, ...]] = Counter()
    for row in _rows(cur, f"SELECT {', '.join(columns[a] for a in axes)}, verdict FROM measurements"):
        expected[(*[str(v) if v is not None else None for v in row[:-1]], row[-1])] += 1
    got: Counter[tuple[object, ...]] = Counter()
    for row in aggregate(cur, axes, make_filters()):
        key = tuple(row["day" if a == "day" else columns[a]] for a in axes)
        for verdict, n in row["verdicts"].items():
            if n:
                got[(*key, None if verdict == "not analysed" else verdict)] += n
    assert got == expected


def test_aggregate_filters_agree_between_tables_and_measurements(cur: duckdb.DuckDBPyConnection) -> None:
    f = make_filters(probe_cc="IR", since="2025-05-20", until="2025-05-25")
    from_tables = aggregate(cur, ["day"], f)
    by_hand = _rows(cur, "SELECT CAST(measurement_start_time AS DATE) d, count(*) FILTER (WHERE verdict='confirmed') "
                         "FROM measurements WHERE probe_cc='IR' AND measurement_start_time >= '2025-05-20' "
                         "AND measurement_start_time < '2025-05-26' GROUP BY d ORDER BY d")
    assert [(r["day"], r["verdicts"]["confirmed"]) for r in from_tables] == [(d.isoformat(), n) for d, n in by_hand]
    assert len(from_tables) == 6  # the until day is included


@pytest.mark.parametrize(
    "params",
    [{}, {"probe_cc": "CN"}, {"verdict": "anomaly,confirmed"}, {"blocking": "dns"}, {"domain": "twitter.com"},
     {"probe_cc": "RU", "verdict": "confirmed", "blocking": "http-diff"}, {"since": "2025-05-26"},
     {"input": "https://meduza.io/"}, {"probe_asn": "12389", "test_name": "web_connectivity"}],
)
@pytest.mark.parametrize("offset", [0, 50, 400])
def test_search_pages_match_a_full_sort(cur: duckdb.DuckDBPyConnection, params: dict[str, str], offset: int) -> None:
    f = make_filters(**params)
    page = search(cur, f, limit=50, offset=offset)
    expected_uids = [row["measurement_uid"] for row in search_by_full_sort(cur, f)][offset : offset + 50]
    assert [row["measurement_uid"] for row in page.rows] == expected_uids
    total = len(search_by_full_sort(cur, f))
    assert page.has_more == (total > offset + 50)
    assert page.total in (None, total)
    assert count(cur, f) == total


def search_by_full_sort(cur: duckdb.DuckDBPyConnection, f: object) -> list[dict[str, object]]:
    """The obvious query, every matching row sorted: what search must page through."""
    from censorwatch.web.filters import where_clause

    where, params = where_clause(f, None)  # type: ignore[arg-type]
    result = cur.execute(
        f"SELECT measurement_uid FROM measurements{where} "
        "ORDER BY measurement_start_time DESC NULLS LAST, measurement_uid", params
    ).fetchall()
    return [{"measurement_uid": row[0]} for row in result]


def test_measurement_detail_has_raw_json_and_verdict(cur: duckdb.DuckDBPyConnection) -> None:
    uid = _rows(cur, "SELECT measurement_uid FROM measurements WHERE verdict = 'confirmed' LIMIT 1")[0][0]
    found = measurement(cur, str(uid))
    assert found is not None
    assert found["raw"]["test_name"] == "web_connectivity"
    assert found["verdict"] == "confirmed" and found["reason"]
    assert measurement(cur, "nope") is None


@pytest.mark.parametrize(
    ("params", "message"),
    [({"probe_cc": "IRN"}, "two-letter"), ({"probe_asn": "ASX"}, "network number"), ({"since": "yesterday"}, "date"),
     ({"verdict": "blocked"}, "unknown verdict"), ({"blocking": "magic"}, "unknown blocking")],
)
def test_bad_filters_say_why(params: dict[str, str], message: str) -> None:
    with pytest.raises(BadQuery, match=message):
        make_filters(**params)


def test_filters_normalise_and_round_trip() -> None:
    f = make_filters(probe_cc="ir", probe_asn="197207", domain="Twitter.COM", until="2025-05-27")
    assert (f.probe_cc, f.probe_asn, f.domain) == ("IR", "AS197207", "twitter.com")
    assert f.until == datetime(2025, 5, 28)
    assert f.as_params()["until"] == "2025-05-27"
    assert make_filters(**f.as_params()) == f
    assert parse_bound("2025-05-27T10:00:00Z") == datetime(2025, 5, 27, 10)
    assert target_filters("https://x.org/a").input == "https://x.org/a"
    assert target_filters("X.org.").domain == "x.org"


def test_stale_aggregates_are_not_used(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with Store(path) as store:
        store.add(demo.synthetic(days=2, per_day=1))
        refresh_aggregates(store.con)
        extra = demo.web_measurement("https://late.example/", "IR", "AS1", "Late", demo.END, "dns_forged")
        store.add([demo.record(extra, "dns_forged")])
        with using({}):
            assert not aggregates_fresh(store.con)
            rows = aggregate(store.con, ["target"], make_filters(probe_cc="IR"))
    assert "late.example" in {row["domain"] for row in rows}


def test_timeline_columns_equal_the_aggregate_rows(cur: duckdb.DuckDBPyConnection) -> None:
    f = target_filters("twitter.com")
    cells = {(row["probe_cc"], row["day"]): row for row in aggregate(cur, ["day", "country"], f)}
    timeline = orjson.loads(timeline_json(cur, f))
    assert [country["probe_cc"] for country in timeline] == sorted({cc for cc, _ in cells})
    seen = 0
    for country in timeline:
        assert country["day"] == sorted(country["day"])
        for index, day in enumerate(country["day"]):
            row = cells[(country["probe_cc"], day)]
            assert country["total"][index] == row["total"]
            for verdict in ("ok", "anomaly", "confirmed", "failure"):
                assert country[verdict][index] == row["verdicts"][verdict]
            seen += 1
    assert seen == len(cells)
