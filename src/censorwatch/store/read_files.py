"""The store's record of input files `ingest ooni` has read to the end (table read_files,
store/schema.py): running the same command over a tree that grew (OONI's raw files, synced every
day) reads only the files it has not read, instead of every measurement of every day again."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import duckdb

from censorwatch.store.cans import InputState, input_state_or_none


@dataclass(frozen=True)
class ReadFile:
    """One input file read to the end: where (as named; recorded resolved), in which state, what it
    held, by which code."""

    path: Path
    state: InputState
    records: int
    skipped: int
    code: str


def earlier_reads(
    con: duckdb.DuckDBPyConnection, files: Sequence[tuple[Path, InputState | None]], code: str
) -> list[int | None]:
    """For each file (None: its state is unknown), how many records the read of this very file
    held that makes reading it again pointless: one whose every record was stored (or was a
    duplicate), or one by this same code (which would skip the same records again); None when
    there is none. A read that skipped records by other code does not count: this code may read
    them.

    One query for all of them: DuckDB's index serves none of these lookups, and a query per file
    cost 0.85 ms at best (rows in path order, as daily runs add them, pruned by zone maps) and a
    full scan at worst (47 ms per file with 3,000,000 rows in another order); one query per 1,000
    files costs 0.1 ms per file (bench/bench_rerun.py; with_earlier_reads passes chunks of
    LOOKUP_FILES)."""
    answers: list[int | None] = [None] * len(files)
    known = [(index, path, state) for index, (path, state) in enumerate(files) if state is not None]
    if not known:
        return answers
    rows = con.execute(
        "SELECT wanted.i, records, skipped, code FROM read_files JOIN (SELECT unnest(?::BIGINT[]) AS i, "
        "unnest(?::VARCHAR[]) AS path, unnest(?::BIGINT[]) AS bytes, unnest(?::BIGINT[]) AS mtime_ns, "
        "unnest(?::VARCHAR[]) AS tail) AS wanted USING (path, bytes, mtime_ns, tail)",
        [
            [index for index, _, _ in known], [str(path.resolve()) for _, path, _ in known],
            [state.size for _, _, state in known], [state.mtime_ns for _, _, state in known],
            [state.tail for _, _, state in known],
        ],
    ).fetchall()
    for index, records, skipped, by in rows:
        answers[index] = None if skipped and by != code else int(records)
    return answers


# How many files with_earlier_reads looks up at once: bounded, as the paths of a tree are streamed.
LOOKUP_FILES = 1000


def with_earlier_reads(
    con: duckdb.DuckDBPyConnection, paths: Iterable[Path], code: str, reread: bool = False
) -> Iterator[tuple[Path, InputState | None, int | None]]:
    """Each path with its state, taken now, before it is read (None: it cannot be examined; the
    reader reports it), and earlier_reads' answer for it (always None when `reread`), looked up
    LOOKUP_FILES at a time."""
    iterator = iter(paths)
    while chunk := list(islice(iterator, LOOKUP_FILES)):
        files = [(path, input_state_or_none(path)) for path in chunk]
        earlier = [None] * len(files) if reread else earlier_reads(con, files, code)
        for (path, state), done in zip(files, earlier, strict=True):
            yield path, state, done


def record_reads(con: duckdb.DuckDBPyConnection, reads: Sequence[ReadFile]) -> None:
    """In the transaction that commits the rows of these files (Store.add), or after it: a run
    killed before leaves them unrecorded (read again, stored once), never recorded without their
    rows."""
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
