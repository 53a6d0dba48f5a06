"""Pre-aggregated counts the web app reads instead of scanning every measurement.

Narrow "wide" tables (DESIGN.md: "aggregates are small and served from DuckDB"): one row per day
and country (and test), per day and network, per country and target, per day and target, with
one count column per verdict and per blocking type. A query uses the first table holding every
column it groups or filters by, and the measurements table otherwise (a filter on verdict or
blocking type always reads the measurements). The tables are derived data, rebuilt whole by
`refresh_aggregates` (needs write access: `censorwatch serve` does it at start when they are
stale). They are only used while `web_agg_meta` records the same measurement count as the store
holds, so a stale table is never shown."""

from __future__ import annotations

import time
from dataclasses import dataclass

import duckdb

from censorwatch.model.verdict import BLOCKING_TYPES, VERDICTS
from censorwatch.web.memo import memoized

META_TABLE = "web_agg_meta"
# Bumped whenever the tables change shape, so an older store gets them rebuilt.
AGGREGATES_VERSION = 4

# Count column -> the measurements it counts (SQL condition on the measurements table).
COUNTS: dict[str, str] = {
    "total": "TRUE",
    **{verdict: f"verdict = '{verdict}'" for verdict in VERDICTS},
    "not_analysed": "verdict IS NULL",
    **{f"blocking_{kind.replace('-', '_')}": f"blocking = '{kind}'" for kind in BLOCKING_TYPES},
}


def count_sql(aggregated: bool) -> str:
    """The SELECT list of every count, from an aggregate table or from the measurements."""
    if aggregated:
        return ", ".join(f"CAST(coalesce(sum({name}), 0) AS BIGINT) AS {name}" for name in COUNTS)
    return ", ".join(f"count(*) FILTER (WHERE {condition}) AS {name}" for name, condition in COUNTS.items())


@dataclass(frozen=True)
class AggregateTable:
    name: str
    columns: tuple[str, ...]  # grouping columns besides day
    order: tuple[str, ...]
    daily: bool


# In order of preference (smallest first). `order` is the physical order: DuckDB's min/max zone
# maps then skip the row groups of other countries (or other targets) when a query filters by one.
AGGREGATE_TABLES = (
    AggregateTable("web_agg_country_day", ("probe_cc",), ("probe_cc", "day"), True),
    AggregateTable("web_agg_country_test_day", ("probe_cc", "test_name"), ("probe_cc", "day"), True),
    AggregateTable("web_agg_network_day", ("probe_cc", "probe_asn"), ("probe_cc", "day"), True),
    AggregateTable("web_agg_target", ("probe_cc", "domain", "test_name"), ("probe_cc", "domain"), False),
    AggregateTable("web_agg_target_day", ("probe_cc", "domain"), ("domain", "day"), True),
    AggregateTable("web_agg_target_network", ("probe_cc", "probe_asn", "domain"), ("domain", "probe_cc"), False),
)


def refresh_aggregates(con: duckdb.DuckDBPyConnection) -> float:
    """Rebuild every aggregate table in one transaction; returns the seconds it took."""
    started = time.perf_counter()
    con.execute("BEGIN TRANSACTION")
    try:
        for table in AGGREGATE_TABLES:
            columns = ", ".join(table.columns)
            day = "CAST(measurement_start_time AS DATE) AS day, " if table.daily else ""
            # Network names vary over time for one ASN; the table keeps one per ASN and day.
            extra = ", max(probe_network_name) AS probe_network_name" if "probe_asn" in table.columns else ""
            con.execute(
                f"CREATE OR REPLACE TABLE {table.name} AS SELECT {day}{columns}, {count_sql(False)}{extra} "
                f"FROM measurements GROUP BY ALL ORDER BY {', '.join(table.order)}"
            )
        con.execute(
            f"CREATE OR REPLACE TABLE {META_TABLE} "
            f"(measurements BIGINT, max_time TIMESTAMP, refreshed DOUBLE, version INTEGER)"
        )
        con.execute(
            f"INSERT INTO {META_TABLE} SELECT count(*), max(measurement_start_time), epoch(now()), "
            f"{AGGREGATES_VERSION} FROM measurements"
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return time.perf_counter() - started


def aggregates_fresh(cur: duckdb.DuckDBPyConnection) -> bool:
    """True when the aggregate tables describe exactly the measurements stored now (asked once
    per open connection: see memo.py)."""
    return memoized("aggregates_fresh", lambda: _fresh(cur))


def _fresh(cur: duckdb.DuckDBPyConnection) -> bool:
    try:
        meta = cur.execute(f"SELECT measurements, version FROM {META_TABLE}").fetchone()
    except duckdb.BinderException:
        return False  # written by an older version
    except duckdb.CatalogException:
        return False
    if meta is None or meta[1] != AGGREGATES_VERSION:
        return False
    count = cur.execute("SELECT count(*) FROM measurements").fetchone()
    return count is not None and int(count[0]) == int(meta[0])


def needs_refresh(con: duckdb.DuckDBPyConnection) -> bool:
    tables = {row[0] for row in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if "measurements" not in tables:
        return False
    return not aggregates_fresh(con)
