"""Streaming exports of stored verdicts (one row per measurement) as JSON Lines or CSV."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime
from typing import Any, TextIO

import orjson

from censorwatch.store.database import Store

VERDICT_EXPORT_COLUMNS = (
    "measurement_uid",
    "input",
    "domain",
    "probe_cc",
    "probe_asn",
    "probe_network_name",
    "test_name",
    "test_version",
    "measurement_start_time",
    "verdict",
    "blocking",
    "fingerprint",
    "reason",
    "ooni_blocking",
    "analyzer_version",
    "source",
)
FORMATS = ("jsonl", "csv")


def verdict_rows(
    store: Store,
    probe_cc: str | None = None,
    test_name: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Iterator[dict[str, Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for column, value in (("probe_cc", probe_cc and probe_cc.upper()), ("test_name", test_name)):
        if value:
            clauses.append(f"{column} = ?")
            params.append(value)
    if since:
        clauses.append("measurement_start_time >= ?")
        params.append(since.replace(tzinfo=None))
    if until:
        clauses.append("measurement_start_time < ?")
        params.append(until.replace(tzinfo=None))
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    sql = (
        f"SELECT {', '.join(VERDICT_EXPORT_COLUMNS)} FROM measurements {where} "
        "ORDER BY measurement_start_time, measurement_uid"
    )
    for row in store.iter_rows(sql, params):
        started = row["measurement_start_time"]
        if isinstance(started, datetime):
            row["measurement_start_time"] = started.strftime("%Y-%m-%d %H:%M:%S")
        yield row


def write_rows(rows: Iterator[dict[str, Any]], out: TextIO, fmt: str) -> int:
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=VERDICT_EXPORT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({key: "" if value is None else value for key, value in row.items()})
            count += 1
        return count
    for row in rows:
        out.write(orjson.dumps(row).decode())
        out.write("\n")
        count += 1
    return count
