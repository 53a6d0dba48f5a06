"""Gzip measurement files kept whole beside the DuckDB file ("cans", as OONI calls its files).

Why: ingesting OONI's `.jsonl.gz` files, compressing every measurement into a zstd frame and
handing DuckDB the frames cost more than reading the files (bench/bench_ingest.py, 20,000
measurements: 3.8 CPU seconds against 2.6 without either step, a bound of 1.6). The file as
published already holds every measurement's bytes exactly as received, compressed; copying it
costs the kernel a file copy. A row then records its file and where its JSON lies in the file's
decompressed stream, and reading it back inflates the file up to there (store/raw_access.py).

A file is copied under a fresh name ending in `.staged.jsonl.gz` before it is read, and the records are read
from the copy, so offsets always refer to the bytes kept. It becomes a can (fsync'd and renamed)
within the transaction that stores its first new measurement, before that transaction commits,
and gets a row in the `cans` table in the same transaction. A copy from which nothing new was
stored is deleted. After a crash, copies and files the `cans` table does not list are leftovers
of transactions that never committed; `sweep` deletes them when the store is next opened for
writing (DuckDB lets one process at a time write a store)."""

from __future__ import annotations

import os
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from censorwatch.durable import fsync_dir
from censorwatch.file_copy import copy_whole

SUFFIX = ".jsonl.gz"
STAGED = ".staged"  # before SUFFIX: readers choose the format by how the name ends


def cans_directory(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".cans")


@dataclass(frozen=True)
class FileIdentity:
    """What tells a gzip file from another one cheaply: its size and its last 8 bytes, the CRC-32
    and length of its last member's decompressed data. Parts that link to their input files
    (`censorwatch process --raw link`) record it, and `ingest parquet` checks the copy it keeps
    against it, so a file replaced between the two is noticed without reading it twice."""

    size: int
    tail: str  # hex


def identity_of(path: Path) -> FileIdentity:
    """Raises OSError when the file cannot be read."""
    identity, _ = _identity_and_mtime(path)
    return identity


def _identity_and_mtime(path: Path) -> tuple[FileIdentity, int]:
    with path.open("rb") as handle:
        status = os.fstat(handle.fileno())
        handle.seek(max(0, status.st_size - 8))
        return FileIdentity(status.st_size, handle.read(8).hex()), status.st_mtime_ns


@dataclass(frozen=True)
class InputState:
    """What tells whether an input file is the one an earlier run read: its identity and its
    modification time."""

    size: int
    mtime_ns: int
    tail: str


def input_state(path: Path) -> InputState:
    """Raises OSError when the file cannot be read. One open, one fstat."""
    identity, mtime_ns = _identity_and_mtime(path)
    return InputState(identity.size, mtime_ns, identity.tail)


def input_state_or_none(path: Path) -> InputState | None:
    """None for a file that cannot be read (its reader reports why)."""
    try:
        return input_state(path)
    except OSError:
        return None


def is_can_source(path: Path) -> bool:
    """Files kept whole: gzip JSON Lines. Others (plain JSON, YAML, API answers) are stored as
    zstd frames in the row."""
    return path.name.endswith(SUFFIX)


# Copies are written to disk while their measurements are read: syncing a can only when its
# first rows commit kept ingest waiting for the disk (bench/bench_ingest.py: wall time a second
# above CPU time per 533 MB of cans). One thread: the disk, not the CPU, is what it waits on.
_SYNCER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="can-sync")


def _sync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


@dataclass
class StagedCan:
    can_id: str
    source: Path  # the file as the user named it
    copy: Path  # what is read, and becomes the can
    size: int
    synced: Future[None] = field(repr=False)  # the background sync of the copy
    kept: bool = False


class CanShelf:
    """The directory of one store's cans."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path_of(self, can_id: str) -> Path:
        return self.directory / f"{can_id}{SUFFIX}"

    def stage(self, source: Path) -> StagedCan:
        """Copy `source` under a fresh name; raises OSError when it cannot be read or written."""
        self.directory.mkdir(parents=True, exist_ok=True)
        can_id = uuid.uuid4().hex
        copy = self.directory / f"{can_id}{STAGED}{SUFFIX}"
        try:
            copy_whole(source, copy)
        except OSError:
            copy.unlink(missing_ok=True)
            raise
        return StagedCan(can_id, source, copy, copy.stat().st_size, _SYNCER.submit(_sync, copy))

    def keep(self, cans: list[StagedCan]) -> None:
        """Make the copies durable under their final names (before the rows naming them commit);
        one directory sync for them all."""
        for can in cans:
            if can.kept:
                continue
            can.synced.result()  # the copy is on disk (or the OSError the sync met is raised)
            final = self.path_of(can.can_id)
            os.replace(can.copy, final)
            can.copy, can.kept = final, True
        fsync_dir(self.directory)

    def discard(self, can: StagedCan) -> None:
        """Delete a copy from which nothing was stored."""
        if not can.kept:
            can.synced.cancel()  # when it has not started; a sync under way just ends
            can.copy.unlink(missing_ok=True)

    def sweep(self, listed: set[str]) -> int:
        """Delete copies and cans that `listed` (the cans table) does not name; returns how many."""
        if not self.directory.is_dir():
            return 0
        removed = 0
        for path in self.directory.iterdir():
            name = path.name
            can_id = name[: -len(SUFFIX)] if name.endswith(SUFFIX) else None
            if can_id is not None and can_id not in listed:  # a staged copy's "id" ends in STAGED
                path.unlink(missing_ok=True)
                removed += 1
        return removed

