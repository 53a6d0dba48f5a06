"""Ingest raw records into the store: analyse, batch, count what was stored, duplicated or skipped."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from censorwatch.analysis.record import analysed_record
from censorwatch.code_identity import code_identity
from censorwatch.model.measurement import MalformedMeasurement
from censorwatch.sources.ooni_files import READ_FAILURE, RawRecord, expand_paths, read_records
from censorwatch.store import Store, StoredMeasurement
from censorwatch.store.cans import InputState, StagedCan, is_can_source
from censorwatch.store.read_files import ReadFile

BATCH = 2000
# Batches also end at this much raw JSON held for frames: 2,000 copies of a 500 KB measurement
# held 1 GB three times over (Python, Arrow, DuckDB) and took ingest to 8 GB (bench/bench_ingest.py).
# Rows pointing into cans hold no JSON, so batches of gzip files end at BATCH rows: 104 batches
# per 100,000 bench measurements became 50.
BATCH_BYTES = 32 * 1024 * 1024


@dataclass
class IngestStats:
    read: int = 0
    stored: int = 0
    duplicates: int = 0
    # Of the duplicates, those known by their uid before they were fetched (OONI's API).
    not_fetched: int = 0
    # Files an earlier run into the store read to the end (store/read_files.py), and their
    # records: not read again, not in the counts above.
    files_read_before: int = 0
    records_read_before: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)

    def skip(self, reason: str, location: str) -> None:
        self.skipped[reason] += 1
        self.examples.setdefault(reason, location)

    def merge(self, other: IngestStats) -> None:
        self.read += other.read
        self.stored += other.stored
        self.duplicates += other.duplicates
        self.not_fetched += other.not_fetched
        self.files_read_before += other.files_read_before
        self.records_read_before += other.records_read_before
        self.skipped.update(other.skipped)
        for reason, where in other.examples.items():
            self.examples.setdefault(reason, where)

    def summary_lines(self) -> list[str]:
        already = f"already stored {self.duplicates}"
        if self.not_fetched:
            already += f" ({self.not_fetched} of them not fetched again)"
        lines = [f"read {self.read} records: stored {self.stored}, {already}, skipped {sum(self.skipped.values())}"]
        for reason, count in self.skipped.most_common():
            lines.append(f"  skipped {count}: {reason} (e.g. {self.examples[reason]})")
        if self.files_read_before:
            lines.append(f"files an earlier run into this store read to the end, not read again: "
                         f"{self.files_read_before} ({self.records_read_before} records; --reread reads them again)")
        return lines


def to_stored(
    record: RawRecord, source: str, stats: IngestStats, can_id: str | None = None
) -> StoredMeasurement | None:
    """The record analysed, or None (counted) when it is not a measurement. With `can_id`, the
    row points into that can at the record's offset instead of keeping a frame."""
    if record.already_stored:
        stats.duplicates += 1
        stats.not_fetched += 1
        return None
    if record.error is not None or record.measurement is None:
        stats.skip(record.error or "empty record", record.location)
        return None
    in_can = can_id if record.offset is not None else None  # a record of a gzip file has an offset
    try:
        stored = analysed_record(record.measurement, source, record.raw, in_can, record.offset)
    except MalformedMeasurement as error:
        stats.skip(str(error), record.location)
        return None
    if record.ooni_uid is None or record.ooni_uid == stored.meta.measurement_uid:
        return stored
    # Under OONI's uid, known also by the uid its JSON derives, as a raw file's line would be.
    return stored.stored_as(record.ooni_uid, also_known_as=stored.meta.measurement_uid)


class _Batches:
    """Measurements on their way to the store, one transaction per batch."""

    def __init__(
        self, store: Store, stats: IngestStats, on_progress: Callable[[int], None] | None, rows: int | None = None
    ) -> None:
        self.store, self.stats, self.on_progress = store, stats, on_progress
        self.rows = rows if rows is not None else BATCH  # looked up now: tests make batches small
        self.batch: list[StoredMeasurement] = []
        self.bytes = 0
        # Files read to the end whose rows may still wait in the batch: released after it, and
        # recorded as read (store/read_files.py) in the transaction that commits it.
        self.finished: list[StagedCan] = []
        self.read_files: list[ReadFile] = []

    def add(self, stored: StoredMeasurement) -> None:
        self.batch.append(stored)
        self.bytes += len(stored.raw)
        if len(self.batch) >= self.rows or self.bytes >= BATCH_BYTES:
            self.flush()

    def flush(self) -> None:
        stored = len(self.batch)
        added = self.store.add(self.batch, batch_size=max(stored, 1), reads=self.read_files)
        self.stats.stored += added
        self.stats.duplicates += stored - added
        self.batch, self.bytes, self.read_files = [], 0, []
        for can in self.finished:
            self.store.release_can(can)
        self.finished = []
        # Last, with everything of the batch done: the CLI's progress callback is where a run
        # that was asked to stop ends (cli/stop_signals.py).
        if stored and self.on_progress is not None:
            self.on_progress(stored)


def _add_records(records: Iterable[RawRecord], source: str, batches: _Batches, can_id: str | None = None) -> None:
    stats = batches.stats
    for record in records:
        stats.read += 1
        stored = to_stored(record, source, stats, can_id)
        if stored is not None:
            batches.add(stored)


def ingest_records(
    store: Store,
    records: Iterable[RawRecord],
    source: str = "ooni",
    on_progress: Callable[[int], None] | None = None,
    batch_rows: int | None = None,
    stats: IngestStats | None = None,
) -> IngestStats:
    """Records from anywhere (API answers, files): each row keeps its raw as a zstd frame.
    When reading the records fails or is interrupted (an API that gives up, Ctrl-C), what was
    read is stored before the exception goes on: records that each took a round trip to fetch
    are not lost. `stats` (counted into as the records go) tells the caller how far it got;
    `batch_rows` (default BATCH) is how many records each stored batch holds at most."""
    stats = stats if stats is not None else IngestStats()
    batches = _Batches(store, stats, on_progress, batch_rows)
    with store.one_thread():
        try:
            _add_records(records, source, batches)
        except BaseException:
            # Flush once more; if the store itself is what failed, the first error is the one to see.
            with contextlib.suppress(Exception):
                batches.flush()
            raise
        batches.flush()
    return stats


def ingest_files(
    store: Store,
    paths: Iterable[Path],
    source: str = "ooni",
    on_progress: Callable[[int], None] | None = None,
    reread: bool = False,
) -> IngestStats:
    """Files and trees (`censorwatch ingest ooni PATH...`). Gzip files are kept whole as cans
    and their rows point into them (store/cans.py); other files' rows keep zstd frames. A file an
    earlier run into the store read to the end, unchanged since, is not read again unless
    `reread` (store/read_files.py)."""
    stats = IngestStats()
    batches = _Batches(store, stats, on_progress)
    code = code_identity()
    ahead = _CopyAhead(store)
    listed = ahead.files(store.with_earlier_reads(expand_paths(paths), code, reread))
    with store.one_thread():
        try:
            for path, state, earlier, staging in listed:
                if earlier is not None:
                    stats.files_read_before += 1
                    stats.records_read_before += earlier
                    continue
                read, skipped = stats.read, sum(stats.skipped.values())
                can = ahead.claim(staging)
                records = _Watched(read_records(can.copy, shown_as=path) if can is not None else read_records(path))
                _add_records(records, source, batches, can.can_id if can is not None else None)
                if can is not None:
                    batches.finished.append(can)
                if state is not None and not records.read_failed:
                    batches.read_files.append(
                        ReadFile(path, state, stats.read - read, sum(stats.skipped.values()) - skipped, code)
                    )
            batches.flush()
        finally:
            ahead.close()
            for can in batches.finished:
                store.release_can(can)
    return stats


# A file listed for reading: its path, its state before reading, the records of an earlier read
# that makes reading it again pointless (Store.with_earlier_reads), and its can being copied.
_Ahead = tuple[Path, InputState | None, int | None, Future[StagedCan | None] | None]


class _CopyAhead:
    """Each gzip file's can is copied (Store.stage_can) in a thread while the file before it is
    read: a copy is one kernel copy (file_copy.py), which waits on the disk and leaves the
    interpreter to the reader. In the reader's thread, copies cost 0.15-0.8 s of a
    100,000-measurement ingest, more with a cold page cache (bench/bench_ingest.py). One file
    ahead: at most one copy more on disk than the file being read."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._copier = ThreadPoolExecutor(max_workers=1, thread_name_prefix="can-copy")
        self._unclaimed: list[Future[StagedCan | None]] = []  # copies started, not claimed

    def files(
        self, listed: Iterable[tuple[Path, InputState | None, int | None]]
    ) -> Iterator[_Ahead]:
        """Each file as with_earlier_reads gives it, with its can being copied (None for a file
        that is not read or not kept whole), the next file's copy started before it is handed out."""
        held: _Ahead | None = None
        for path, state, earlier in listed:
            copied = earlier is None and is_can_source(path)
            staging = self._copier.submit(_staged, self.store, path) if copied else None
            if staging is not None:
                self._unclaimed.append(staging)
            if held is not None:
                yield held
            held = (path, state, earlier, staging)
        if held is not None:
            yield held

    def claim(self, staging: Future[StagedCan | None] | None) -> StagedCan | None:
        """The file's can (None: no copy, its rows keep frames); the caller releases it."""
        if staging is None:
            return None
        can = staging.result()
        self._unclaimed.remove(staging)  # after: a copy whose wait was interrupted is close's to delete
        return can

    def close(self) -> None:
        """Waits for the copy under way; a copy no file was read from (the run ended first) is
        deleted."""
        self._copier.shutdown(wait=True, cancel_futures=True)
        unclaimed, self._unclaimed = self._unclaimed, []
        for staging in unclaimed:
            # (An error of the copy is not raised here: the run is ending for another reason.)
            can = None if staging.cancelled() or staging.exception() is not None else staging.result()
            if can is not None:
                self.store.release_can(can)


class _Watched:
    """A file's records, noting whether the system failed to read it (worth trying again, unlike
    bad content)."""

    def __init__(self, records: Iterable[RawRecord]) -> None:
        self.records, self.read_failed = records, False

    def __iter__(self) -> Iterator[RawRecord]:
        for record in self.records:
            if record.error is not None and record.error.startswith(READ_FAILURE):
                self.read_failed = True
            yield record


def _staged(store: Store, path: Path) -> StagedCan | None:
    # For a gzip file (_CopyAhead.files asks is_can_source).
    try:
        return store.stage_can(path)
    except OSError:
        # Unreadable, or no room to copy it: read_records reports what it can of the file, and
        # its rows keep frames.
        return None
