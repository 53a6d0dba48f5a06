"""Load Parquet written by `censorwatch process` (hive-style test_name=/probe_cc=/date= folders,
the store's columns in every part) into the store. DuckDB reads the parts directly; INSERT OR IGNORE on the
measurement_uid primary key makes loading the same directory twice a no-op.

Rows of parts written with `--raw link` or `--raw copy` keep no frame: they name the gzip file
`process` read (`link`: its absolute path; `copy`: the copy under the parts directory, by a path
relative to it) and the span of their JSON in it. Each such file is copied into the store's cans (store/cans.py),
checked against the identity the part recorded, and its rows are stored pointing into the copy,
one transaction per file. A file that is gone or was replaced costs its rows, counted by reason;
nothing else is lost, and loading again once the file is back stores them.

Each part records the schema version of the censorwatch that wrote it (schema.PART_VERSION_KEY):
a directory holding any part of another version is refused whole, before anything is stored.

A load that stored or skipped nothing for any reason but "already stored" records its parts as
read (store/read_files.py, the table `ingest ooni` records its files in): loading the directory
again, after `process` added the parts of new input files, reads only parts that are new or were
rewritten. A load with skipped rows records none, so that loading again retries them all."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from censorwatch.code_identity import code_identity
from censorwatch.store.cans import FileIdentity, InputState, identity_of, is_can_source
from censorwatch.store.database import Store
from censorwatch.store.raw_access import MAX_SPAN
from censorwatch.store.read_files import ReadFile
from censorwatch.store.schema import (
    CAN_COLUMNS,
    LINK_COLUMN_NAMES,
    PART_COLUMNS,
    PART_VERSION_KEY,
    PARTITION_KEYS,
    SCHEMA_VERSION,
)


class ParquetSourceError(ValueError):
    """The directory holds no usable parts (missing, empty, or parts without the store's columns)."""


@dataclass
class ParquetLoad:
    parts: int
    rows: int
    stored: int = 0
    linked_files: int = 0  # input files kept as cans for linked rows
    # Rows per part read (from the parts' footers, once): the total, and what read_files records.
    part_rows: dict[str, int] = field(default_factory=dict, repr=False)
    # Parts an earlier load into the store read to the end, and their rows: not read again, not
    # in the counts above.
    parts_read_before: int = 0
    rows_read_before: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)

    @property
    def duplicates(self) -> int:
        return self.rows - self.stored - sum(self.skipped.values())

    def skip(self, reason: str, rows: int, example: str) -> None:
        self.skipped[reason] += rows
        self.examples.setdefault(reason, example)


def part_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise ParquetSourceError(f"{directory} is not a directory")
    parts = sorted(p for p in directory.rglob("*.parquet") if not p.name.startswith("."))
    if not parts:
        raise ParquetSourceError(f"no Parquet parts under {directory}")
    return parts


# The parts carry every store column; the test_name=/probe_cc=/date= directories are for pruning
# by readers and hold path-safe (sanitised) values. With hive_partitioning on, DuckDB would
# overwrite the real columns with those sanitised values, so the files' columns rule.
_SOURCE = "read_parquet(?, hive_partitioning = false, union_by_name = true{})"
_COLUMNS = ", ".join(PART_COLUMNS)
# A linked row must say where its JSON lies; parts may come from anywhere.
# (coalesce: a missing offset or length is invalid, not unknown.)
_VALID_SPAN = f"coalesce(raw_offset >= 0 AND raw_length BETWEEN 0 AND {MAX_SPAN}, false)"


def load_parquet(
    store: Store,
    directory: Path,
    moved: Sequence[tuple[Path, Path]] = (),
    reread: bool = False,
    on_file: Callable[[int], None] | None = None,
) -> ParquetLoad:
    """`moved` holds (old, new) directories: a linked file named under `old` is read under `new`
    (the input tree was moved, or is mounted elsewhere on this machine, since `process`). Parts
    an earlier load read, unchanged since, are not read again unless `reread`. `on_file(1)` is
    called after each linked input file's transaction, where a load may stop."""
    code = code_identity()
    unread, earlier = _unread(store, part_files(directory), code, reread)
    if not unread:
        return ParquetLoad(parts=0, rows=0, parts_read_before=len(earlier), rows_read_before=sum(earlier))
    load = _load(store, directory, [str(part) for part, _ in unread], moved, on_file)
    load.parts_read_before, load.rows_read_before = len(earlier), sum(earlier)
    if not load.skipped:
        store.record_reads([ReadFile(part, state, load.part_rows.get(str(part), 0), 0, code)
                            for part, state in unread if state is not None])
    return load


def _unread(
    store: Store, parts: list[Path], code: str, reread: bool
) -> tuple[list[tuple[Path, InputState | None]], list[int]]:
    """The parts to read, each with its state before reading, and the row counts of those an
    earlier load read."""
    unread: list[tuple[Path, InputState | None]] = []
    earlier: list[int] = []
    for part, state, done in store.with_earlier_reads(parts, code, reread):  # state None: the load reports it
        if done is None:
            unread.append((part, state))
        else:
            earlier.append(done)
    return unread, earlier


def _load(
    store: Store,
    directory: Path,
    files: list[str],
    moved: Sequence[tuple[Path, Path]],
    on_file: Callable[[int], None] | None,
) -> ParquetLoad:
    source = _SOURCE.format("")
    con = store.con
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {source}", [files]).fetchall()
    except duckdb.Error as error:  # an unreadable part (a Ctrl-C during the statement is not one)
        raise ParquetSourceError(f"cannot read the parts under {directory}: {error}") from error
    _check_versions(con, directory, files)
    present = {row[0] for row in described}
    linked = "raw_file" in present
    missing = set(PART_COLUMNS).union(LINK_COLUMN_NAMES if linked else ()) - present
    if missing:
        raise ParquetSourceError(f"parts under {directory} lack columns: {', '.join(sorted(missing))}")
    part_rows = {
        str(name): int(count)
        for name, count in con.execute(
            "SELECT file_name, sum(num_rows) FROM parquet_file_metadata(?) GROUP BY file_name", [files]
        ).fetchall()
    }
    load = ParquetLoad(parts=len(files), rows=sum(part_rows.values()), part_rows=part_rows)
    embedded = " WHERE raw_file IS NULL" if linked else ""
    load.stored += store.insert_selected(
        PART_COLUMNS,
        f"SELECT {_COLUMNS} FROM (SELECT DISTINCT ON (measurement_uid) {_COLUMNS} FROM {source}{embedded})",
        [files],
    )
    if linked:
        _load_linked(store, files, load, moved, on_file)
    return load


def _check_versions(con: duckdb.DuckDBPyConnection, directory: Path, files: list[str]) -> None:
    """Raises ParquetSourceError unless every part records this schema version: a part of another
    build may derive other uids or lack columns, and nothing has been released whose parts would
    deserve an upgrade."""
    rows = con.execute(
        "SELECT file_name, decode(value) FROM parquet_kv_metadata(?) WHERE decode(key) = ?", [files, PART_VERSION_KEY]
    ).fetchall()
    versions = {str(name): str(value) for name, value in rows}
    other = sorted(name for name in files if versions.get(name) != SCHEMA_VERSION)
    if not other:
        return
    found = versions.get(other[0])
    recorded = "no schema version" if found is None else f"schema version {found}"
    raise ParquetSourceError(
        f"parts under {directory} were written by another build of censorwatch: {len(other)} of the {len(files)} "
        f"to load are not of schema version {SCHEMA_VERSION}, the only one this censorwatch loads, with no upgrade "
        f"from earlier ones ({other[0]} records {recorded}). Nothing was stored. Run `censorwatch process` on the "
        "measurement files again, into a new --out directory, and load that"
    )


def relocated(path: Path, moved: Sequence[tuple[Path, Path]]) -> Path:
    for old, new in moved:
        if path.is_relative_to(old):
            return new / path.relative_to(old)
    return path


_PARTITION_FOLDERS = tuple(f"{key}=" for key in PARTITION_KEYS)


def output_root(part: Path) -> Path:
    """The directory `process` wrote `part` into: the first one above its partition folders (so
    that `ingest parquet OUT/test_name=web_connectivity` finds OUT/inputs too)."""
    folder = part.parent
    while folder.name.startswith(_PARTITION_FOLDERS) and folder.parent != folder:
        folder = folder.parent
    return folder


def linked_path(raw_file: str, part: Path, moved: Sequence[tuple[Path, Path]]) -> Path | None:
    """Where to read a linked file: a relative name lies in the output directory of the part that
    names it (`--raw copy`) and must stay there (None when it climbs out); an absolute one is where
    `process` read it, unless `moved` says otherwise."""
    path = Path(raw_file)
    if path.is_absolute():
        return relocated(path, moved)
    if not raw_file or ".." in path.parts:
        return None
    return output_root(part) / path


def _load_linked(
    store: Store,
    files: list[str],
    load: ParquetLoad,
    moved: Sequence[tuple[Path, Path]],
    on_file: Callable[[int], None] | None,
) -> None:
    # Files in the order of their first uid: OONI's uids begin with a time, and uids stored in
    # time order keep the store's uid index small in memory (docs/ingest.md, "Limits").
    listing = store.con.execute(
        "SELECT raw_file, list(DISTINCT filename ORDER BY filename), count(*), min(raw_file_bytes), "
        f"max(raw_file_bytes), min(raw_file_tail), max(raw_file_tail), count(*) FILTER (WHERE NOT {_VALID_SPAN}) "
        f"FROM {_SOURCE.format(', filename = true')} WHERE raw_file IS NOT NULL GROUP BY raw_file "
        "ORDER BY min(measurement_uid), raw_file",
        [files],
    ).fetchall()
    for raw_file, its_parts, rows, low_size, high_size, low_tail, high_tail, bad_spans in listing:
        path = linked_path(raw_file, Path(its_parts[0]), moved)
        if bad_spans:
            load.skip("linked row without a valid span", bad_spans, raw_file)
            rows -= bad_spans
        if rows == 0:
            pass  # every row lacked a valid span: counted above
        elif low_size != high_size or low_tail != high_tail:
            load.skip("parts disagree about which file they link to", rows, raw_file)
        elif path is None:
            load.skip("linked file outside the output directory", rows, raw_file)
        elif not is_can_source(path):
            load.skip("linked file is not a .jsonl.gz file", rows, raw_file)
        else:
            _load_file(store, raw_file, path, FileIdentity(int(low_size), str(low_tail)), its_parts, rows, load)
        if on_file is not None:
            on_file(1)


def _load_file(
    store: Store, raw_file: str, path: Path, expected: FileIdentity, parts: list[str], rows: int, load: ParquetLoad
) -> None:
    """The rows naming `raw_file`, whose bytes are read from `path`."""
    try:
        can = store.stage_can(path) if path.is_file() else None
    except OSError as error:
        load.skip(f"linked file unreadable ({error.strerror or type(error).__name__})", rows, str(path))
        return
    if can is None:
        reason = "linked file missing" if store.shelf is not None else "linked rows need a store on disk"
        load.skip(reason, rows, str(path))
        return
    try:
        if identity_of(can.copy) != expected:
            load.skip("linked file changed since `censorwatch process` read it", rows, str(path))
            return
        columns = (*PART_COLUMNS, *CAN_COLUMNS)
        select = (
            f"SELECT {_COLUMNS}, ? AS raw_can, raw_offset, raw_length FROM (SELECT DISTINCT ON (measurement_uid) * "
            f"FROM {_SOURCE.format('')} WHERE raw_file = ? AND {_VALID_SPAN})"
        )
        added = store.insert_selected(columns, select, [can.can_id, parts, raw_file], can)
        load.stored += added
        load.linked_files += 1 if added else 0
    finally:
        store.release_can(can)
