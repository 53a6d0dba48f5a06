"""The query layer shared by the JSON API and the HTML pages: every page and endpoint calls these
functions with a per-request DuckDB cursor and gets plain, JSON-ready data back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any

import duckdb
import orjson

from censorwatch.model.verdict import BLOCKING_TYPES, VERDICTS
from censorwatch.store.queries import resolve_uid
from censorwatch.store.raw_access import RawFetcher, RawUnavailable
from censorwatch.store.schema import RAW_COLUMNS
from censorwatch.web.aggregates import AGGREGATE_TABLES, META_TABLE, aggregates_fresh, count_sql
from censorwatch.web.filters import (
    NOT_ANALYSED,
    BadQuery,
    Filters,
    format_bound,
    make_filters,
    parse_bound,
    target_filters,
    where_clause,
)
from censorwatch.web.memo import memoized

__all__ = [
    "NOT_ANALYSED",
    "BadQuery",
    "Filters",
    "aggregate",
    "count",
    "format_bound",
    "make_filters",
    "measurement",
    "parse_bound",
    "search",
    "target_filters",
]

MAX_LIMIT = 500

# API axis name -> column it groups by.
AXES: dict[str, str] = {
    "day": "day",
    "country": "probe_cc",
    "network": "probe_asn",
    "target": "domain",
    "test": "test_name",
    "verdict": "verdict",
    "blocking": "blocking",
}

SEARCH_COLUMNS = (
    "measurement_uid",
    "measurement_start_time",
    "probe_cc",
    "probe_asn",
    "probe_network_name",
    "test_name",
    "input",
    "domain",
    "verdict",
    "blocking",
    "fingerprint",
    "reason",
    "source",
)


@dataclass(frozen=True)
class Source:
    table: str
    count: str  # SQL of the measurement count
    day: str  # SQL of the day expression
    aggregated: bool


RAW_SOURCE = Source("measurements", "count(*)", "CAST(measurement_start_time AS DATE)", False)
# Verdict and blocking type are count columns of the aggregate tables, not grouping columns.
_NOT_AGGREGATED = {"input", "verdict", "blocking"}


def pick_source(cur: duckdb.DuckDBPyConnection, needed: set[str], f: Filters) -> Source:
    """The smallest fresh aggregate table with every column needed, else the measurements."""
    if f.whole_days() and not needed & _NOT_AGGREGATED and aggregates_fresh(cur):
        for table in AGGREGATE_TABLES:
            if needed <= ({"day", *table.columns} if table.daily else set(table.columns)):
                return Source(table.name, "sum(total)", "day", True)
    return RAW_SOURCE


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def aggregate(
    cur: duckdb.DuckDBPyConnection,
    axes: Sequence[str],
    f: Filters,
    order: str = "key",
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Counts by verdict and blocking type grouped by the given axes (names of AXES).
    order "key" sorts by the axes, "blocked" by anomalies + confirmed, "total" by count."""
    rows: list[dict[str, Any]] = orjson.loads(aggregate_json(cur, axes, f, order, limit))
    return rows


def _grouped(cur: duckdb.DuckDBPyConnection, axes: Sequence[str], f: Filters) -> tuple[str, list[Any], list[str]]:
    """The GROUP BY query of every count by the given axes, its parameters and key columns."""
    columns = []
    for axis in axes:
        if axis not in AXES:
            raise BadQuery(f"unknown axis {axis!r}; choose from {', '.join(AXES)}")
        columns.append(AXES[axis])
    source = pick_source(cur, set(columns) | f.columns(), f)
    where, params = where_clause(f, source.day if source.aggregated else None)
    select = [f"{source.day} AS day" if c == "day" else c for c in columns]
    extra = ", max(probe_network_name) AS network_name" if "probe_asn" in columns else ""
    keys = [("day" if c == "day" else c) for c in columns]
    group = ", ".join(keys) if keys else "()"
    counts = count_sql(source.aggregated)
    sql = f"SELECT {', '.join([*select, counts])}{extra} FROM {source.table}{where} GROUP BY {group}"
    return sql, params, keys


def timeline_json(cur: duckdb.DuckDBPyConnection, f: Filters) -> str:
    """Per country, its days with measurements and the counts of each day as parallel arrays:
    a year of a target across 60 countries is ~3,000 cells, and one object per cell made the
    answer 590 KB (bench/bench_web.py); columns keep it a fifth of that."""
    grouped, params, _ = _grouped(cur, ["day", "country"], f)
    counts = ("total", *VERDICTS)
    lists = ", ".join(f"list({name} ORDER BY day) AS {name}" for name in counts)
    fields = ", ".join(f"{name} := {name}" for name in ("probe_cc", "day", *counts))
    sql = (f"SELECT to_json(list(struct_pack({fields}) ORDER BY probe_cc)) FROM "
           f"(SELECT probe_cc, list(day ORDER BY day) AS day, {lists} FROM ({grouped}) GROUP BY probe_cc)")
    row = cur.execute(sql, params).fetchone()
    return "[]" if row is None or row[0] is None else str(row[0])


def aggregate_json(
    cur: duckdb.DuckDBPyConnection,
    axes: Sequence[str],
    f: Filters,
    order: str = "key",
    limit: int | None = None,
) -> str:
    """aggregate()'s rows as a JSON array, straight from DuckDB (the API passes it through)."""
    grouped, params, keys = _grouped(cur, axes, f)
    extra = "probe_asn" in keys
    ordering = {
        "key": ", ".join(f"{k} NULLS LAST" for k in keys) if keys else "total DESC",
        "blocked": "(anomaly + confirmed) DESC, total DESC" + "".join(f", {k}" for k in keys),
        "total": "total DESC" + "".join(f", {k}" for k in keys),
    }.get(order)
    if ordering is None:
        raise BadQuery(f"unknown order {order!r}")
    # Ordered outside: in an aggregate table the count aliases are also column names. DuckDB
    # builds the JSON of the rows itself: shaping thousands of rows in Python cost more than the
    # query (a year of a target's days and countries: 26 ms against 3 ms, bench/bench_web.py).
    inner = f"SELECT * FROM ({grouped}) ORDER BY {ordering}"
    if limit is not None:
        inner += f" LIMIT {int(limit)}"
    fields = [f"{key} := {key}" for key in keys]
    fields += [
        "total := total",
        "verdicts := struct_pack(" + ", ".join(f"{v} := {v}" for v in VERDICTS) + ', "not analysed" := not_analysed)',
        "by_blocking := struct_pack("
        + ", ".join(f'"{b}" := blocking_{b.replace("-", "_")}' for b in BLOCKING_TYPES)
        + ")",
        "blocked := anomaly + confirmed",
    ]
    if extra:
        fields.append("network_name := network_name")
    row = cur.execute(f"SELECT to_json(list(struct_pack({', '.join(fields)}) ORDER BY {ordering})) FROM ({inner})",
                      params).fetchone()
    if row is None or row[0] is None:
        return "[]"
    return str(row[0])


def _records(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [column[0] for column in cur.description or []]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


@dataclass
class SearchPage:
    rows: list[dict[str, Any]]
    limit: int
    offset: int
    has_more: bool
    total: int | None
    filters: Filters = field(default_factory=Filters)


# Newest rows first without sorting every row: the aggregate tables say how many matching
# measurements each day holds, so the day from which the page's rows start is known before the
# measurements are read, and DuckDB's zone maps skip the row groups before it (the store is
# roughly in time order, as measurements arrive). Without usable aggregates, look at the last
# week first and widen only when it holds too few (measured in bench/bench_web.py).
_WINDOWS = (timedelta(days=7), timedelta(days=60), timedelta(days=400))


def newest_time(cur: duckdb.DuckDBPyConnection) -> datetime | None:
    return memoized("newest_time", lambda: _newest(cur))


def _newest(cur: duckdb.DuckDBPyConnection) -> datetime | None:
    if aggregates_fresh(cur):
        row = cur.execute(f"SELECT max_time FROM {META_TABLE}").fetchone()
    else:
        row = cur.execute("SELECT max(measurement_start_time) FROM measurements").fetchone()
    value = row[0] if row else None
    return value if isinstance(value, datetime) else None


def _count_expression(f: Filters) -> str | None:
    """The aggregate-table sum counting the measurements of f's verdict or blocking filter."""
    if f.verdict and f.blocking:
        return None
    if f.verdict:
        return " + ".join(f"sum({'not_analysed' if v == NOT_ANALYSED else v})" for v in f.verdict)
    if f.blocking:
        return " + ".join(f"sum(blocking_{b.replace('-', '_')})" for b in f.blocking)
    return "sum(total)"


def daily_counts(cur: duckdb.DuckDBPyConnection, f: Filters) -> list[tuple[date | None, int]] | None:
    """Matching measurements per day, newest day first, from the aggregates; None when they
    cannot say (stale, or a filter they do not hold)."""
    expression = _count_expression(f)
    if expression is None:
        return None
    dims = replace(f, verdict=(), blocking=())
    source = pick_source(cur, dims.columns() | {"day"}, dims)
    if not source.aggregated:
        return None
    where, params = where_clause(dims, "day")
    sql = f"SELECT day, {expression} AS n FROM {source.table}{where} GROUP BY day ORDER BY day DESC NULLS LAST"
    return [(day, int(n)) for day, n in cur.execute(sql, params).fetchall()]


def _start_from_counts(days: list[tuple[date | None, int]], wanted: int) -> datetime | None:
    seen = 0
    for day, n in days:
        seen += n
        if seen >= wanted and day is not None:
            return datetime.combine(day, time(0))
    return None


def search(
    cur: duckdb.DuckDBPyConnection, f: Filters, limit: int = 50, offset: int = 0, with_total: bool = False
) -> SearchPage:
    """Newest first. `total` is given when the aggregates know it, or counted when asked."""
    if not 1 <= limit <= MAX_LIMIT:
        raise BadQuery(f"limit is between 1 and {MAX_LIMIT}")
    if offset < 0:
        raise BadQuery("offset cannot be negative")
    where, params = where_clause(f, None)
    columns = ", ".join(SEARCH_COLUMNS)
    order = " ORDER BY measurement_start_time DESC NULLS LAST, measurement_uid LIMIT ? OFFSET ?"
    and_ = f"{where} AND" if where else " WHERE"
    rows: list[dict[str, Any]] | None = None
    total: int | None = None
    days = daily_counts(cur, f) if f.whole_days() else None
    if days is not None:
        total = sum(n for _, n in days)
        start = _start_from_counts(days, offset + limit + 1)
        if start is not None:
            sql = f"SELECT {columns} FROM measurements{and_} measurement_start_time >= ?{order}"
            rows = _records(cur.execute(sql, [*params, start, limit + 1, offset]))
    elif f.since is None and (newest := newest_time(cur)) is not None:
        for window in _WINDOWS:
            sql = f"SELECT {columns} FROM measurements{and_} measurement_start_time >= ?{order}"
            found = _records(cur.execute(sql, [*params, newest - window, limit + 1, offset]))
            if len(found) == limit + 1:
                rows = found
                break
    if rows is None:
        rows = _records(cur.execute(f"SELECT {columns} FROM measurements{where}{order}", [*params, limit + 1, offset]))
    has_more = len(rows) > limit
    shaped = [{key: _json_value(value) for key, value in row.items()} for row in rows[:limit]]
    if total is None and with_total:
        total = count(cur, f)
    return SearchPage(shaped, limit, offset, has_more, total, f)


def count(cur: duckdb.DuckDBPyConnection, f: Filters) -> int:
    """How many measurements match (from the aggregates when they can tell)."""
    days = daily_counts(cur, f) if f.whole_days() else None
    if days is not None:
        return sum(n for _, n in days)
    where, params = where_clause(f, None)
    row = cur.execute(f"SELECT count(*) FROM measurements{where}", params).fetchone()
    return int(row[0]) if row else 0


def _raw_text(cur: duckdb.DuckDBPyConnection, stored: dict[str, Any]) -> str | None:
    """The raw JSON as text (undecodable bytes replaced), None when it cannot be read back."""
    try:
        with RawFetcher.of_connection(cur) as fetcher:
            return fetcher.raw(stored).decode("utf-8", "replace")
    except RawUnavailable:
        return None


def measurement(cur: duckdb.DuckDBPyConnection, uid: str) -> dict[str, Any] | None:
    """One stored measurement: its indexed fields, our verdict and the raw OONI JSON, parsed.
    `uid` may be another uid of it (OONI's, or the one its JSON derives: store/schema.py
    CREATE_UID_ALIASES); the row says the uid it is stored under."""
    found = _records(cur.execute("SELECT * FROM measurements WHERE measurement_uid = ?", [uid]))
    if not found:
        stored_as = resolve_uid(cur, uid)
        if stored_as == uid:
            return None
        found = _records(cur.execute("SELECT * FROM measurements WHERE measurement_uid = ?", [stored_as]))
    if not found:
        return None
    stored = found[0]
    raw = _raw_text(cur, stored)
    for column in RAW_COLUMNS:
        stored.pop(column, None)
    row = {key: _json_value(value) for key, value in stored.items()}
    try:
        row["raw"] = orjson.loads(raw or "")
    except orjson.JSONDecodeError:
        row["raw"] = None
        row["raw_text"] = raw
    return row
