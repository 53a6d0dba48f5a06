"""Pre-aggregated daily counts the web app reads instead of scanning every measurement.

Three narrow tables (DESIGN.md: "aggregates are small and served from DuckDB"): counts per day
and country, per day and network, per day and target. A query uses the smallest table holding
every column it groups or filters by, and the measurements table otherwise. The tables are
derived data, rebuilt whole by `refresh_aggregates` (needs write access: `censorwatch serve`
does it at start when they are stale). They are only used while `web_agg_meta` records the
same measurement count as the store holds, so a stale table is never shown."""

from __future__ import annotations

import time
from dataclasses import dataclass

import duckdb

META_TABLE = "web_agg_meta"

_COMMON = ("test_name", "verdict", "blocking")


@dataclass(frozen=True)
class AggregateTable:
    name: str
    columns: tuple[str, ...]  # without day and n


AGGREGATE_TABLES = (
    AggregateTable("web_agg_country_day", ("probe_cc", *_COMMON)),
    AggregateTable("web_agg_network_day", ("probe_cc", "probe_asn", "probe_network_name", *_COMMON)),
    AggregateTable("web_agg_target_day", ("probe_cc", "domain", *_COMMON)),
)


def refresh_aggregates(con: duckdb.DuckDBPyConnection) -> float:
    """Rebuild every aggregate table in one transaction; returns the seconds it took."""
    started = time.perf_counter()
    con.execute("BEGIN TRANSACTION")
    try:
        for table in AGGREGATE_TABLES:
            columns = ", ".join(table.columns)
            # Sorted by country then day so DuckDB's min/max zone maps skip other countries' rows.
            con.execute(
                f"CREATE OR REPLACE TABLE {table.name} AS "
                f"SELECT CAST(measurement_start_time AS DATE) AS day, {columns}, count(*) AS n "
                f"FROM measurements GROUP BY ALL ORDER BY probe_cc, day"
            )
        con.execute(f"CREATE OR REPLACE TABLE {META_TABLE} (measurements BIGINT, max_time TIMESTAMP, refreshed DOUBLE)")
        con.execute(
            f"INSERT INTO {META_TABLE} SELECT count(*), max(measurement_start_time), epoch(now()) FROM measurements"
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return time.perf_counter() - started


def aggregates_fresh(cur: duckdb.DuckDBPyConnection) -> bool:
    """True when the aggregate tables describe exactly the measurements stored now."""
    try:
        meta = cur.execute(f"SELECT measurements FROM {META_TABLE}").fetchone()
    except duckdb.CatalogException:
        return False
    if meta is None:
        return False
    count = cur.execute("SELECT count(*) FROM measurements").fetchone()
    return count is not None and int(count[0]) == int(meta[0])


def needs_refresh(con: duckdb.DuckDBPyConnection) -> bool:
    tables = {row[0] for row in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if "measurements" not in tables:
        return False
    return not aggregates_fresh(con)
