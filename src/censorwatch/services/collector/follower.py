"""The store follows the spool: one thread owns the DuckDB file (one writer, as DuckDB requires),
reads the measurement frames the spool writer has published, analyses them and inserts them in
batches, then moves the checkpoint. Replay after a restart and normal operation are the same code
path, so "stored exactly once" rests on one mechanism: the spool order, the checkpoint, and the
store's INSERT OR IGNORE on measurement_uid."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import orjson

from censorwatch.analysis.record import analysed_record
from censorwatch.model.measurement import meta_of
from censorwatch.model.verdict import FAILURE, Verdict
from censorwatch.services.collector.framing import ScanReport
from censorwatch.services.collector.spool import Checkpoint, Position, SpoolEvent, read_events
from censorwatch.services.collector.state import MEASUREMENT
from censorwatch.store import Store, StoredMeasurement

SOURCE: Final = "collector"
BATCH: Final = 500
log = logging.getLogger("censorwatch.collector")


def stored_record(event: dict[str, Any]) -> StoredMeasurement:
    """The store row for a spooled measurement, under the uid the client was given."""
    content = event["content"]
    raw = orjson.dumps(content)
    try:
        record = analysed_record(content, SOURCE, raw)
    except Exception as error:  # an analyser bug must not lose an acknowledged measurement
        verdict = Verdict(FAILURE, None, f"analysis error: {type(error).__name__}")
        record = StoredMeasurement(meta=meta_of(content), raw=raw, verdict=verdict, source=SOURCE)
    return record.stored_as(event["uid"])


class StoreFollower:
    def __init__(self, db_path: Path, spool_dir: Path, published: Position) -> None:
        self.db_path = db_path
        self.spool_dir = spool_dir
        self.stored = 0
        self.replayed = 0
        self.scan = ScanReport()
        self._identity = str(db_path.resolve())
        self._published = published
        self._start = published
        self._done = Position(0, 0)
        self._stopping = False
        self._error: BaseException | None = None
        self._wake = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="collector-store", daemon=True)
        self._ready = threading.Event()
        self._store: Store | None = None

    def start(self) -> None:
        self._thread.start()

    def publish(self, position: Position) -> None:
        """Frames up to `position` are on disk and may be read."""
        with self._wake:
            if position > self._published:
                self._published = position
                self._wake.notify()

    def stop(self) -> None:
        """Store everything published so far, then close the store."""
        with self._wake:
            self._stopping = True
            self._wake.notify()
        self._thread.join()

    @property
    def caught_up(self) -> bool:
        with self._wake:
            return self._done >= self._published

    @property
    def error(self) -> BaseException | None:
        return self._error

    def wait_ready(self, timeout: float | None = None) -> bool:
        return self._ready.wait(timeout)

    def _run(self) -> None:
        try:
            fresh = not self.db_path.exists()
            self._store = Store(self.db_path)
            checkpoint = Checkpoint.load(self.spool_dir)
            # A checkpoint is about one store: a new or different DB file gets the whole spool.
            if checkpoint is not None and checkpoint.store == self._identity and not fresh:
                self._done = checkpoint.position
            self._catch_up(replay=True)
            # Older segments are finished (this run appends to a new one): never rescan them.
            if self._done < self._start:
                self._commit([], self._start, replay=True)
            self._ready.set()
            log.info("store replay: %d measurements added from the spool", self.replayed)
            while True:
                with self._wake:
                    while not self._stopping and self._done >= self._published:
                        self._wake.wait()
                    stopping = self._stopping
                self._catch_up(replay=False)
                if stopping:
                    return
        except BaseException as error:  # surfaced through /health and the logs
            self._error = error
            log.exception("store follower stopped")
            self._ready.set()
        finally:
            if self._store is not None:
                self._store.close()

    def _events(self) -> Iterator[SpoolEvent]:
        with self._wake:
            until = self._published
        for item in read_events(self.spool_dir, self.scan, self._done):
            if item.position > until:
                return
            yield item
            if item.position == until:
                return  # the next frame may be half-way through its append: do not look at it

    def _catch_up(self, replay: bool) -> None:
        assert self._store is not None
        batch: list[StoredMeasurement] = []
        last: Position | None = None
        for item in self._events():
            last = item.position
            if item.event.get("kind") == MEASUREMENT and isinstance(item.event.get("content"), dict):
                batch.append(stored_record(item.event))
            if len(batch) >= BATCH:
                self._commit(batch, last, replay)
                batch = []
        if last is not None:
            self._commit(batch, last, replay)

    def _commit(self, batch: list[StoredMeasurement], last: Position, replay: bool) -> None:
        assert self._store is not None
        added = self._store.add(batch) if batch else 0
        self.stored += added
        if replay:
            self.replayed += added
        Checkpoint(last, self._identity).save(self.spool_dir)
        with self._wake:
            self._done = last
