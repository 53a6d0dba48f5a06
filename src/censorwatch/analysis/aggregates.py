"""Aggregates over the `measurements` table, computed by DuckDB: counts by verdict and blocking
type per (probe_cc, probe_asn, target, day), and the "most blocked targets" report of a country.

target = the measurement's domain when it has one, else its input, else its test name (app tests
such as telegram have no input: the app is the target)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import duckdb

from censorwatch.model.verdict import BLOCKING_TYPES, VERDICTS
from censorwatch.store.database import Store

TARGET_SQL = "coalesce(domain, input, test_name)"
BLOCKED = "verdict IN ('anomaly', 'confirmed')"


def _column(name: str) -> str:
    return name.replace("-", "_")


DAILY_COLUMNS = (
    "probe_cc", "probe_asn", "target", "day", "measurements",
    *VERDICTS, "not_analysed", *(_column(b) for b in BLOCKING_TYPES),
)
REPORT_COLUMNS = (
    "target", "measurements", "blocked", "confirmed", "failures", "blocked_share",
    "first_anomaly", "last_anomaly", "methods", "networks",
)


@dataclass(frozen=True)
class Window:
    """probe_cc and an optional [since, until] window of days (both inclusive)."""

    probe_cc: str | None = None
    since: date | None = None
    until: date | None = None

    def where(self) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if self.probe_cc:
            clauses.append("probe_cc = ?")
            params.append(self.probe_cc.upper())
        if self.since:
            clauses.append("measurement_start_time >= ?")
            params.append(datetime.combine(self.since, datetime.min.time()))
        if self.until:
            clauses.append("measurement_start_time < ?")
            params.append(datetime.combine(self.until + timedelta(days=1), datetime.min.time()))
        return (f"WHERE {' AND '.join(clauses)}" if clauses else ""), params


def _connection(source: Store | duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    return source.con if isinstance(source, Store) else source


def daily_sql(window: Window) -> tuple[str, list[Any]]:
    where, params = window.where()
    counts = [f"count(*) FILTER (WHERE verdict = '{v}') AS {v}" for v in VERDICTS]
    counts.append("count(*) FILTER (WHERE verdict IS NULL) AS not_analysed")
    counts += [f"count(*) FILTER (WHERE blocking = '{b}') AS {_column(b)}" for b in BLOCKING_TYPES]
    sql = (
        f"SELECT probe_cc, probe_asn, {TARGET_SQL} AS target, CAST(measurement_start_time AS DATE) AS day, "
        f"count(*) AS measurements, {', '.join(counts)} "
        f"FROM measurements {where} GROUP BY ALL ORDER BY day, probe_cc, probe_asn, target"
    )
    return sql, params


def daily_aggregates(source: Store | duckdb.DuckDBPyConnection, window: Window = Window()) -> Iterator[dict[str, Any]]:
    """One row per (probe_cc, probe_asn, target, day), streamed."""
    sql, params = daily_sql(window)
    yield from _rows(_connection(source), sql, params)


def most_blocked_sql(window: Window, limit: int | None) -> tuple[str, list[Any]]:
    where, params = window.where()
    sql = f"""
        SELECT {TARGET_SQL} AS target,
               count(*) AS measurements,
               count(*) FILTER (WHERE {BLOCKED}) AS blocked,
               count(*) FILTER (WHERE verdict = 'confirmed') AS confirmed,
               count(*) FILTER (WHERE verdict = 'failure') AS failures,
               round(count(*) FILTER (WHERE {BLOCKED}) / count(*), 4) AS blocked_share,
               min(measurement_start_time) FILTER (WHERE {BLOCKED}) AS first_anomaly,
               max(measurement_start_time) FILTER (WHERE {BLOCKED}) AS last_anomaly,
               list_sort(list_distinct(list(blocking) FILTER (WHERE {BLOCKED} AND blocking IS NOT NULL)))
                   AS methods,
               list_sort(list_distinct(list(probe_asn) FILTER (WHERE {BLOCKED}))) AS networks
        FROM measurements {where}
        GROUP BY 1
        HAVING count(*) FILTER (WHERE {BLOCKED}) > 0
        ORDER BY blocked DESC, blocked_share DESC, target
    """
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return sql, params


def most_blocked(
    source: Store | duckdb.DuckDBPyConnection, window: Window, limit: int | None = 20
) -> list[dict[str, Any]]:
    """The targets with the most anomaly+confirmed verdicts, with when and how they were blocked."""
    sql, params = most_blocked_sql(window, limit)
    return list(_rows(_connection(source), sql, params))


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> Iterator[dict[str, Any]]:
    cursor = con.cursor()
    try:
        cursor.execute(sql, params)
        names = [column[0] for column in cursor.description or []]
        while batch := cursor.fetchmany(2000):
            for row in batch:
                yield dict(zip(names, row, strict=True))
    finally:
        cursor.close()
