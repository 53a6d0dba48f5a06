"""The cycle collector's pace for bulk jobs (ingest, process)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# Python's cycle collector runs after every 700 new container objects; parsing one OONI
# measurement creates hundreds, and each collection walks what the batch keeps alive. It found
# nothing to collect (measurements are trees, freed by reference counting) and cost ingest a
# second per 100,000 measurements (bench/bench_ingest.py: 13.3 -> 12.3 CPU s); the bound,
# parsing the same files, did not change. Bulk work runs with a higher first threshold.
BULK_GC_THRESHOLD = 100_000


@contextmanager
def fewer_collections() -> Iterator[None]:
    """The cycle collector's first threshold raised to BULK_GC_THRESHOLD for a bulk job."""
    before = gc.get_threshold()
    gc.set_threshold(max(BULK_GC_THRESHOLD, before[0]), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
