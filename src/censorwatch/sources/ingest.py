"""Ingest raw records into the store: analyse, batch, count what was stored, duplicated or skipped."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from censorwatch.analysis.record import analysed_record
from censorwatch.model.measurement import MalformedMeasurement
from censorwatch.sources.ooni_files import RawRecord
from censorwatch.store import Store, StoredMeasurement

BATCH = 2000
# Batches also end at this much raw JSON: 2,000 copies of a 500 KB measurement held 1 GB three
# times over (Python, Arrow, DuckDB) and took ingest to 8 GB (bench/bench_ingest.py).
BATCH_BYTES = 32 * 1024 * 1024


@dataclass
class IngestStats:
    read: int = 0
    stored: int = 0
    duplicates: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)

    def skip(self, reason: str, location: str) -> None:
        self.skipped[reason] += 1
        self.examples.setdefault(reason, location)

    def merge(self, other: IngestStats) -> None:
        self.read += other.read
        self.stored += other.stored
        self.duplicates += other.duplicates
        self.skipped.update(other.skipped)
        for reason, where in other.examples.items():
            self.examples.setdefault(reason, where)

    def summary_lines(self) -> list[str]:
        lines = [f"read {self.read} records: stored {self.stored}, already stored {self.duplicates}, "
                 f"skipped {sum(self.skipped.values())}"]
        for reason, count in self.skipped.most_common():
            lines.append(f"  skipped {count}: {reason} (e.g. {self.examples[reason]})")
        return lines


def to_stored(record: RawRecord, source: str, stats: IngestStats) -> StoredMeasurement | None:
    if record.error is not None or record.measurement is None:
        stats.skip(record.error or "empty record", record.location)
        return None
    try:
        return analysed_record(record.measurement, source, record.raw)
    except MalformedMeasurement as error:
        stats.skip(str(error), record.location)
        return None


def ingest_records(
    store: Store,
    records: Iterable[RawRecord],
    source: str = "ooni",
    on_progress: Callable[[int], None] | None = None,
) -> IngestStats:
    stats = IngestStats()
    batch: list[StoredMeasurement] = []
    batch_bytes = 0

    def flush() -> None:
        nonlocal batch_bytes
        batch_bytes = 0
        added = store.add(batch)
        stats.stored += added
        stats.duplicates += len(batch) - added
        if on_progress is not None:
            on_progress(len(batch))
        batch.clear()

    for record in records:
        stats.read += 1
        stored = to_stored(record, source, stats)
        if stored is not None:
            batch.append(stored)
            batch_bytes += len(stored.raw)
            if len(batch) >= BATCH or batch_bytes >= BATCH_BYTES:
                flush()
    if batch:
        flush()
    return stats
