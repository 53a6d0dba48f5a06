"""Stored events as plain rows for `events list` and the web (API, feed, pages): the field names of
the JSON output are a contract (docs/events.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

import duckdb

from censorwatch.analysis.events.tables import tables_exist

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # UTC, as OONI writes measurement_start_time
FIELDS = (
    "target", "probe_cc", "probe_asn", "blocking", "start", "end", "start_observed", "confidence",
    "networks", "measurements", "evidence", "detected",
)


@dataclass(frozen=True)
class Filters:
    country: str | None = None
    target: str | None = None
    since: date | None = None  # events still blocking on or after this day
    ongoing: bool = False

    def where(self) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if self.country:
            clauses.append("probe_cc = ?")
            params.append(self.country.upper())
        if self.target:
            clauses.append("target = ?")
            params.append(self.target.lower())
        if self.since:
            clauses.append("(end_time IS NULL OR end_time >= ?)")
            params.append(datetime.combine(self.since, time()))
        if self.ongoing:
            clauses.append("end_time IS NULL")
        return (f"WHERE {' AND '.join(clauses)}" if clauses else ""), params


def _when(value: datetime | None) -> str | None:
    return value.strftime(TIME_FORMAT) if value is not None else None


_TIE = "target, probe_cc, probe_asn NULLS FIRST, blocking"
# "start": the CLI's order. "newest": latest start first (the web's list of recent events).
# "changed": latest change first, as atom._updated orders a feed (its end, else its detection).
ORDERS = {
    "start": f"start_time, {_TIE}",
    "newest": f"start_time DESC, {_TIE}",
    "changed": f"greatest(start_time, detected, coalesce(end_time, start_time)) DESC, {_TIE}",
}


def list_events(
    con: duckdb.DuckDBPyConnection, filters: Filters = Filters(), order: str = "start", limit: int | None = None
) -> list[dict[str, Any]]:
    """Events, country-wide ones first within a target, in order of start (ORDERS has others)."""
    if not tables_exist(con):
        return []
    where, params = filters.where()
    cursor = con.cursor()
    cursor.execute(
        "SELECT target, probe_cc, probe_asn, blocking, start_time, end_time, start_observed, confidence, networks, "
        "before_measurements, before_anomalous, measurements, anomalous, confirmed, first_uid, last_uid, detected "
        f"FROM events {where} ORDER BY {ORDERS[order]}" + ("" if limit is None else f" LIMIT {int(limit)}"),
        params,
    )
    names = [column[0] for column in cursor.description or []]
    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    cursor.close()
    return [_plain(row) for row in rows]


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "target": row["target"],
        "probe_cc": row["probe_cc"],
        "probe_asn": row["probe_asn"],
        "blocking": row["blocking"],
        "start": _when(row["start_time"]),
        "end": _when(row["end_time"]),
        "start_observed": row["start_observed"],
        "confidence": row["confidence"],
        "networks": list(row["networks"]),
        "measurements": {
            "before": row["before_measurements"], "before_anomalous": row["before_anomalous"],
            "during": row["measurements"], "during_anomalous": row["anomalous"], "confirmed": row["confirmed"],
        },
        "evidence": {"first": row["first_uid"], "last": row["last_uid"]},
        "detected": _when(row["detected"]),
    }


def flat(row: dict[str, Any]) -> dict[str, Any]:
    """One event as a CSV row: nested fields spread over columns."""
    out = {name: row[name] for name in FIELDS if name not in ("measurements", "evidence", "networks")}
    out["networks"] = ";".join(row["networks"])
    for name, value in row["measurements"].items():
        out[f"measurements_{name}"] = value
    out["evidence_first"] = row["evidence"]["first"]
    out["evidence_last"] = row["evidence"]["last"]
    return out
