"""Which stores this censorwatch opens: those whose `schema_info` records its SCHEMA_VERSION
(store/schema.py), and files that hold no store yet. Any other store was written by another
development build; nothing has been released, so there is no upgrade: its measurements are
ingested again into a new store. The check only reads, so a refused store is left as it was."""

from __future__ import annotations

import duckdb

from censorwatch.store.schema import SCHEMA_VERSION


def columns_of(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    """The columns of `table` (none when there is no such table)."""
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? AND table_schema = 'main'", [table]
    ).fetchall()
    return {row[0] for row in rows}


def stored_version(con: duckdb.DuckDBPyConnection) -> str | None:
    """The schema version the file's store records, or None when it records none."""
    if not columns_of(con, "schema_info"):
        return None
    rows = con.execute("SELECT value FROM schema_info WHERE key = 'version'").fetchall()
    return str(rows[0][0]) if rows else None


def refusal(con: duckdb.DuckDBPyConnection) -> str | None:
    """Why the store cannot be used (a sentence that follows its path), or None when it can: it
    records this version, or there is no store in the file yet (no measurements, no version)."""
    version = stored_version(con)
    if version == SCHEMA_VERSION or (version is None and not columns_of(con, "measurements")):
        return None
    found = "records no schema version" if version is None else f"has schema version {version}"
    return (
        f"was written by another build of censorwatch: it {found}, and this censorwatch reads and writes only "
        f"version {SCHEMA_VERSION}, with no upgrade from earlier ones. Nothing in it was changed: ingest the "
        "measurements again into a new store (`censorwatch ingest ooni PATH... --db NEW.duckdb`, or move this "
        "file away and ingest into the same path)"
    )
