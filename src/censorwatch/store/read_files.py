"""The store's record of input files `ingest ooni` has read to the end (table read_files,
store/schema.py): running the same command over a tree that grew (OONI's raw files, synced every
day) reads only the files it has not read, instead of every measurement of every day again."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from censorwatch.store.cans import InputState


@dataclass(frozen=True)
class ReadFile:
    """One input file read to the end: where (as named; recorded resolved), in which state, what it
    held, by which code."""

    path: Path
    state: InputState
    records: int
    skipped: int
    code: str


def earlier_read(con: duckdb.DuckDBPyConnection, path: Path, state: InputState, code: str) -> int | None:
    """How many records the read of this very file held that makes reading it again pointless:
    one whose every record was stored (or was a duplicate), or one by this same code (which would
    skip the same records again); None when there is none. A read that skipped records by other
    code does not count: this code may read them."""
    rows = con.execute(
        "SELECT records, skipped, code FROM read_files WHERE path = ? AND bytes = ? AND mtime_ns = ? AND tail = ?",
        [str(path.resolve()), state.size, state.mtime_ns, state.tail],
    ).fetchall()
    if not rows:
        return None
    records, skipped, by = rows[0]
    return None if skipped and by != code else int(records)


def record_reads(con: duckdb.DuckDBPyConnection, reads: list[ReadFile]) -> None:
    """After the rows of these files are committed: a run killed before leaves them unrecorded
    (read again, stored once), never recorded without their rows."""
    if not reads:
        return
    con.execute(
        "INSERT OR REPLACE INTO read_files SELECT unnest(?::VARCHAR[]), unnest(?::BIGINT[]), unnest(?::BIGINT[]), "
        "unnest(?::VARCHAR[]), unnest(?::BIGINT[]), unnest(?::BIGINT[]), unnest(?::VARCHAR[]), now()",
        [
            [str(r.path.resolve()) for r in reads], [r.state.size for r in reads], [r.state.mtime_ns for r in reads],
            [r.state.tail for r in reads], [r.records for r in reads], [r.skipped for r in reads],
            [r.code for r in reads],
        ],
    )
