"""Synthetic measurements (synthetic.py) as rows of a store's `measurements` table, with only
the columns events read: for tests and benchmarks of the store-backed run."""

from __future__ import annotations

from collections.abc import Iterable

import duckdb
import pyarrow as pa

from censorwatch.analysis.events.synthetic import Row

_SCHEMA = pa.schema([
    ("measurement_uid", pa.string()), ("input", pa.string()), ("domain", pa.string()), ("test_name", pa.string()),
    ("probe_cc", pa.string()), ("probe_asn", pa.string()), ("measurement_start_time", pa.timestamp("us")),
    ("source", pa.string()), ("verdict", pa.string()), ("blocking", pa.string()),
])


def insert_rows(
    con: duckdb.DuckDBPyConnection, rows: Iterable[tuple[tuple[str, str, str], Row]], table: str = "measurements"
) -> int:
    """Stores ((target, probe_cc, probe_asn), (t, verdict, blocking, uid)) rows in one statement
    (into `table`, a table with the measurements' columns)."""
    items = list(rows)
    batch = pa.table({
        "measurement_uid": [row[3] for _, row in items],
        "input": [f"https://{key[0]}/" for key, _ in items],
        "domain": [key[0] for key, _ in items],
        "test_name": ["web_connectivity"] * len(items),
        "probe_cc": [key[1] for key, _ in items],
        "probe_asn": [key[2] for key, _ in items],
        "measurement_start_time": [row[0] for _, row in items],
        "source": ["synthetic"] * len(items),
        "verdict": [row[1] for _, row in items],
        "blocking": [row[2] for _, row in items],
    }, schema=_SCHEMA)
    con.register("ev_synthetic", batch)
    try:
        con.execute(f"INSERT INTO {table} ({', '.join(_SCHEMA.names)}) SELECT * FROM ev_synthetic")
    finally:
        con.unregister("ev_synthetic")
    return len(items)
