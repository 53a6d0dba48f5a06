"""Analyse finished probe measurements and store them with their verdicts, in small batches (one
transaction each), counting verdicts for the run's summary. Here, not in probe/: the probe knows
nothing of the store (DESIGN.md); the CLI wires this sink to a run."""

from __future__ import annotations

from collections import Counter
from typing import Any

import orjson

from censorwatch.analysis.record import analysed_record
from censorwatch.store import Store, StoredMeasurement

BATCH = 50


class StoreSink:
    def __init__(self, store: Store | None) -> None:
        self.store = store
        self.counts: Counter[tuple[str, str, str]] = Counter()  # (test, verdict, blocking)
        self._pending: list[StoredMeasurement] = []

    def __call__(self, measurement: dict[str, Any]) -> None:
        record = analysed_record(measurement, "probe", orjson.dumps(measurement))
        self.counts[(str(measurement.get("test_name")), record.verdict.verdict or "not analysed",
                     record.verdict.blocking or "-")] += 1
        if self.store is None:
            return
        self._pending.append(record)
        if len(self._pending) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if self.store is not None and self._pending:
            self.store.add(self._pending)
            self._pending = []
