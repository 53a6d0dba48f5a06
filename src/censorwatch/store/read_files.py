"""The store's record of input files `ingest ooni` has read to the end (table read_files,
store/schema.py): running the same command over a tree that grew (OONI's raw files, synced every
day) reads only the files it has not read, instead of every measurement of every day again."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from censorwatch.store.cans import InputState


@dataclass(frozen=True)
class ReadFile:
    """One input file read to the end: where, in which state, what it held, by which code."""

    path: str  # resolved
    state: InputState
    records: int
    skipped: int
    code: str


def earlier_read(con: duckdb.DuckDBPyConnection, path: str, state: InputState, code: str) -> ReadFile | None:
    """The read of this very file that makes reading it again pointless: one whose every record
    was stored (or was a duplicate), or one by this same code (which would skip the same records
    again). A read that skipped records by other code is not: this code may read them."""
    rows = con.execute(
        "SELECT records, skipped, code FROM read_files WHERE path = ? AND bytes = ? AND mtime_ns = ? AND tail = ?",
        [path, state.size, state.mtime_ns, state.tail],
    ).fetchall()
    if not rows:
        return None
    records, skipped, by = rows[0]
    if skipped and by != code:
        return None
    return ReadFile(path, state, int(records), int(skipped), str(by))


def record_reads(con: duckdb.DuckDBPyConnection, reads: list[ReadFile]) -> None:
    """After the rows of these files are committed: a run killed before leaves them unrecorded
    (read again, stored once), never recorded without their rows."""
    if not reads:
        return
    con.execute(
        "INSERT OR REPLACE INTO read_files SELECT unnest(?::VARCHAR[]), unnest(?::BIGINT[]), unnest(?::BIGINT[]), "
        "unnest(?::VARCHAR[]), unnest(?::BIGINT[]), unnest(?::BIGINT[]), unnest(?::VARCHAR[]), now()",
        [
            [r.path for r in reads], [r.state.size for r in reads], [r.state.mtime_ns for r in reads],
            [r.state.tail for r in reads], [r.records for r in reads], [r.skipped for r in reads],
            [r.code for r in reads],
        ],
    )
