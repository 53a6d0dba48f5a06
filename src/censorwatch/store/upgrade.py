"""Bring an older store to the current schema when it is opened for writing.

Version 2 -> 3 (cans beside the DuckDB file) only adds columns and a table, in one transaction.

Version 1 (raw JSON as text in `raw`) -> 3 rewrites every row, compressed into `raw_zstd`. The
rows move in chunks of CHUNK into a new table, in measurement_uid order, one transaction per
chunk; the old table is dropped and the new one takes its name in one last transaction. A killed
upgrade therefore leaves the old table whole and the new one holding a prefix of it, and the next
open carries on after that prefix."""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import pyarrow as pa

from censorwatch.store.raw_codec import compress
from censorwatch.store.schema import (
    CAN_COLUMNS,
    COLUMN_NAMES,
    CREATE_CANS,
    MEASUREMENT_COLUMNS,
    SCHEMA_VERSION,
    create_measurements,
)

CHUNK = 2000
NEW_TABLE = "measurements_v2"
_KEPT = [name for name in COLUMN_NAMES if name != "raw_zstd" and name not in CAN_COLUMNS]
_MOVED = [*_KEPT, "raw_zstd"]
_INSERT = f"INSERT INTO {NEW_TABLE} ({', '.join(_MOVED)}) SELECT {', '.join(_MOVED)} FROM upgrade_chunk"


def columns_of(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? AND table_schema = 'main'", [table]
    ).fetchall()
    return {row[0] for row in rows}


def stored_version(con: duckdb.DuckDBPyConnection) -> int:
    columns = columns_of(con, "measurements")
    if "raw" in columns:
        return 1
    return 2 if "raw_can" not in columns else 3


def needs_upgrade(con: duckdb.DuckDBPyConnection) -> bool:
    return stored_version(con) < int(SCHEMA_VERSION)


def upgrade(con: duckdb.DuckDBPyConnection, on_chunk: Callable[[int], None] | None = None) -> int:
    """Returns how many rows moved in this call (0 when no row had to be rewritten)."""
    version = stored_version(con)
    if version == 2:
        _add_cans(con)
        return 0
    if version != 1:
        return 0
    con.execute(create_measurements(NEW_TABLE))
    # fetchall, not fetchone: DuckDB refuses other work on a connection with rows left unread.
    after = con.execute(f"SELECT max(measurement_uid) FROM {NEW_TABLE}").fetchall()[0][0]
    moved = 0
    select = f"SELECT {', '.join(_KEPT)}, raw FROM measurements"
    while True:
        if after is None:
            relation = con.sql(f"{select} ORDER BY measurement_uid LIMIT {CHUNK}")
        else:
            relation = con.sql(f"{select} WHERE measurement_uid > $after ORDER BY measurement_uid LIMIT {CHUNK}",
                               params={"after": after})
        table: pa.Table | None = relation.to_arrow_table()
        if table is None or table.num_rows == 0:
            break
        frames = pa.array([compress(text.encode("utf-8")) for text in table.column("raw").to_pylist()], pa.binary())
        chunk = table.drop_columns(["raw"]).append_column("raw_zstd", frames)
        con.register("upgrade_chunk", chunk)
        try:
            con.execute("BEGIN TRANSACTION")
            con.execute(_INSERT)
            con.execute("COMMIT")
        except duckdb.Error:
            con.execute("ROLLBACK")
            raise
        finally:
            con.unregister("upgrade_chunk")
        moved += table.num_rows
        after = table.column("measurement_uid")[-1].as_py()
        if on_chunk is not None:
            on_chunk(table.num_rows)
    con.execute("BEGIN TRANSACTION")
    con.execute("DROP TABLE measurements")
    con.execute(f"ALTER TABLE {NEW_TABLE} RENAME TO measurements")
    con.execute("UPDATE schema_info SET value = ? WHERE key = 'version'", [SCHEMA_VERSION])
    con.execute("COMMIT")
    return moved


def _add_cans(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("BEGIN TRANSACTION")
    try:
        kinds = dict(MEASUREMENT_COLUMNS)
        for column in CAN_COLUMNS:
            con.execute(f"ALTER TABLE measurements ADD COLUMN {column} {kinds[column]}")
        con.execute("ALTER TABLE measurements ALTER COLUMN raw_zstd DROP NOT NULL")
        con.execute(CREATE_CANS)
        con.execute("UPDATE schema_info SET value = ? WHERE key = 'version'", [SCHEMA_VERSION])
        con.execute("COMMIT")
    except duckdb.Error:
        con.execute("ROLLBACK")
        raise
