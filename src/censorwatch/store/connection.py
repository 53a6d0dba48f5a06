"""Opening the store's DuckDB file: where it lives by default, how a writing connection is tuned,
and only when it holds a store of this schema version (store/schema_version.py) or none yet."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from censorwatch.store.schema import SCHEMA_STATEMENTS
from censorwatch.store.schema_version import refusal

# DuckDB checkpoints each time its write-ahead log passes 16 MB; with OONI-sized rows that came
# every few batches and doubled the time inserts took (bench/bench_ingest.py: 1.85 -> 0.98 CPU
# seconds for 50,000 measurements at 256 MB, with the same peak memory).
CHECKPOINT_THRESHOLD = "256MB"
# DuckDB keeps the blocks it has written in its buffer pool up to 80 % of RAM: ingesting 100,000
# OONI measurements held 605 MiB, 20,000 held 377 (bench/bench_ingest.py); a 128 MB cap held
# both at 360-370 MiB at the same speed. A writer capped at 1 GB stays bounded whatever it
# ingests; the cap leaves room for the primary-key index of some ten million measurements, and
# DuckDB spills larger sorts and aggregates to disk. $CENSORWATCH_DB_MEMORY overrides it (a DuckDB
# size such as "4GB"). Read-only connections (the web app) keep DuckDB's default.
WRITER_MEMORY_LIMIT = "1GB"


class StoreError(RuntimeError):
    """The store cannot be used as asked (for example: another build of censorwatch wrote it)."""


def writer_memory_limit() -> str:
    return os.environ.get("CENSORWATCH_DB_MEMORY") or WRITER_MEMORY_LIMIT


def default_db_path() -> Path:
    """`$CENSORWATCH_DB`, else ~/.local/share/censorwatch/censorwatch.duckdb (XDG data home)."""
    explicit = os.environ.get("CENSORWATCH_DB")
    if explicit:
        return Path(explicit)
    data_home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return data_home / "censorwatch" / "censorwatch.duckdb"


def open_connection(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    """A connection to the store at `path` (or ":memory:"), its tables made when it is new and
    opened for writing. Raises StoreError, with the file as it was, for a store of another schema
    version or a memory limit DuckDB does not understand."""
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    try:
        reason = refusal(con)
        if reason is not None:
            raise StoreError(f"{path} {reason}")
        if not read_only:
            _tune_writer(con)
            for statement in SCHEMA_STATEMENTS:
                con.execute(statement)
    except BaseException:
        con.close()
        raise
    return con


def _tune_writer(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"SET checkpoint_threshold = '{CHECKPOINT_THRESHOLD}'")
    limit = writer_memory_limit()
    try:
        con.execute("SET memory_limit = ?", [limit])
    except duckdb.Error as error:
        raise StoreError(
            f"CENSORWATCH_DB_MEMORY={limit!r} is not a memory size DuckDB understands (e.g. 4GB): {error}"
        ) from error
