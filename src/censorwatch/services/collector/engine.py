"""The collector's core, independent of HTTP: open, submit and close with durable, idempotent
semantics.

Durability: each event goes through one group-commit writer; a request is answered only after the
fsync that covers its frame has returned. Idempotence: a measurement's uid is derived from its
report id and its scrubbed content, and a uid already acknowledged (or being written right now)
is answered again without writing anything.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import secrets
import string
import time
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from censorwatch.model.measurement import canonical_json, uid_for
from censorwatch.services.collector.follower import StoreFollower
from censorwatch.services.collector.framing import ScanReport
from censorwatch.services.collector.limits import DEFAULT_MAX_BODY
from censorwatch.services.collector.scrub import scrub_measurement
from censorwatch.services.collector.spool import Position, SpoolLog, read_events
from censorwatch.services.collector.state import CLOSE, MEASUREMENT, OPEN, CollectorState, Report
from censorwatch.services.collector.validation import ApiError, check_measurement

BACKEND_VERSION: Final = "0.1.0"
SUPPORTED_FORMATS: Final = ("json",)
GROUP_COMMIT_MAX: Final = 1024
STALE_AFTER: Final = 3 * 3600.0
_ALPHABET: Final = string.ascii_letters + string.digits
log = logging.getLogger("censorwatch.collector")


@dataclass(frozen=True)
class CollectorConfig:
    db_path: Path
    spool_dir: Path
    token: str | None = None
    max_body: int = DEFAULT_MAX_BODY
    # bk-003 §3: close reports left inactive; never before two hours.
    stale_after: float = STALE_AFTER


@dataclass
class Counters:
    opened: int = 0
    accepted: int = 0
    duplicates: int = 0
    closed: int = 0
    rejected: Counter[int] = field(default_factory=Counter)


def new_report_id(fields: dict[str, str], now: datetime | None = None) -> str:
    """ooni/backend's shape (<time>_<testname>_<CC>_<ASN>_n1_<random>) with bk-003 §3.1's advice of
    at least 256 bits from a CSPRNG: 43 base-62 characters carry 256 bits."""
    moment = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    test = re.sub(r"[^a-z0-9]", "", fields["test_name"].lower()) or "unknown"
    random_part = "".join(secrets.choice(_ALPHABET) for _ in range(43))
    return f"{moment}_{test}_{fields['probe_cc']}_{fields['probe_asn'][2:]}_n1_{random_part}"


def measurement_uid_for(report_id: str, content: dict[str, Any]) -> str:
    digest = hashlib.sha256(report_id.encode() + b"\n" + canonical_json(content)).hexdigest()[:32]
    return uid_for(content, digest)


def _prepare(content: dict[str, Any], report: Report, peers: Iterable[str | None]) -> tuple[dict[str, Any], str]:
    scrubbed = scrub_measurement(check_measurement(content, report), peers)
    uid = measurement_uid_for(report.report_id, scrubbed)
    # The collector names the measurement (as OONI's does): the stored JSON carries that uid, so
    # re-ingesting it anywhere gives the same uid as this store's row.
    return {**scrubbed, "measurement_uid": uid}, uid


class Collector:
    def __init__(self, config: CollectorConfig) -> None:
        self.config = config
        self.state = CollectorState()
        self.counters = Counters()
        self.startup_scan = ScanReport()
        self._spool: SpoolLog | None = None
        self._follower: StoreFollower | None = None
        self._queue: asyncio.Queue[tuple[dict[str, Any], asyncio.Future[Position]]] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._reaper: asyncio.Task[None] | None = None
        self._inflight: dict[str, asyncio.Future[Position]] = {}
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="collector-spool")

    # -- life cycle -------------------------------------------------------------------------

    async def start(self) -> None:
        await asyncio.to_thread(self._load)
        assert self._spool is not None
        self._follower = StoreFollower(self.config.db_path, self.config.spool_dir, self._spool.position)
        self._follower.start()
        await asyncio.to_thread(self._follower.wait_ready)
        if self._follower.error is not None:
            raise RuntimeError(f"cannot open the store: {self._follower.error}")
        self._queue = asyncio.Queue()
        self._writer = asyncio.create_task(self._write_loop(), name="collector-spool-writer")
        self._reaper = asyncio.create_task(self._reap_loop(), name="collector-stale-reports")

    def _load(self) -> None:
        # Rebuild reports and acknowledged uids from every intact frame; the torn tail of an
        # interrupted append is skipped (and was never acknowledged).
        for item in read_events(self.config.spool_dir, self.startup_scan):
            self.state.apply(item.event)
        scan = self.startup_scan
        log.info(
            "spool: %d events, %d reports, %d measurements; torn tail %d bytes, %d damaged regions",
            scan.frames, len(self.state.reports), len(self.state.acknowledged), scan.torn_tail, scan.damaged,
        )
        self._spool = SpoolLog(self.config.spool_dir)

    async def stop(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            await asyncio.gather(self._reaper, return_exceptions=True)
        if self._queue is not None and self._writer is not None:
            await self._queue.join()
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)
        if self._spool is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._spool.close)
        if self._follower is not None:
            await asyncio.to_thread(self._follower.stop)
        self._executor.shutdown()

    # -- the group-commit writer ------------------------------------------------------------

    async def _write_loop(self) -> None:
        assert self._queue is not None and self._spool is not None and self._follower is not None
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            while len(batch) < GROUP_COMMIT_MAX and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            events = [event for event, _ in batch]
            try:
                positions = await loop.run_in_executor(self._executor, self._spool.append, events)
            except Exception as error:  # disk full, I/O error: no success reply for anyone
                log.error("spool append failed: %s", error)
                for _, future in batch:
                    if not future.done():
                        future.set_exception(ApiError(503, "cannot store the measurement now; retry later"))
                    self._queue.task_done()
                continue
            for (event, future), position in zip(batch, positions, strict=True):
                self.state.apply(event)
                if not future.done():
                    future.set_result(position)
                self._queue.task_done()
            self._follower.publish(positions[-1])

    async def _write(self, event: dict[str, Any]) -> Position:
        assert self._queue is not None
        future: asyncio.Future[Position] = asyncio.get_running_loop().create_future()
        await self._queue.put((event, future))
        return await asyncio.shield(future)

    async def close_stale(self) -> int:
        """Close the open reports inactive for longer than `stale_after`; returns how many."""
        limit = time.monotonic() - self.config.stale_after
        stale = [r.report_id for r in self.state.reports.values() if not r.closed and r.last_activity < limit]
        for report_id in stale:
            await self.close_report(report_id)
        return len(stale)

    async def _reap_loop(self) -> None:
        interval = min(60.0, max(self.config.stale_after / 4, 0.05))
        while True:
            await asyncio.sleep(interval)
            try:
                closed = await self.close_stale()
            except ApiError:  # the spool cannot be written now: try again next round
                continue
            if closed:
                log.info("closed %d stale reports", closed)

    # -- the three operations of bk-003 -----------------------------------------------------

    async def open_report(self, fields: dict[str, str]) -> str:
        report_id = new_report_id(fields)
        await self._write({"kind": OPEN, "report_id": report_id, **fields})
        self.counters.opened += 1
        return report_id

    def report(self, report_id: str) -> Report:
        report = self.state.reports.get(report_id)
        if report is None:
            raise ApiError(404, "unknown report id")
        return report

    async def submit(self, report_id: str, content: dict[str, Any], peers: Iterable[str | None],
                     large: bool = False) -> str:
        """`large`: do the CPU work (checks, scrubbing, hashing) in a thread, off the event loop."""
        report = self.report(report_id)
        if large:
            scrubbed, uid = await asyncio.to_thread(_prepare, content, report, list(peers))
        else:
            scrubbed, uid = _prepare(content, report, peers)
        if uid in self.state.acknowledged:
            # A retry of an acknowledged submission gets the same answer, even once the report is
            # closed: the probe may have lost our first reply.
            self.counters.duplicates += 1
            return uid
        pending = self._inflight.get(uid)
        if pending is not None:
            await asyncio.shield(pending)
            self.counters.duplicates += 1
            return uid
        if report.closed:
            raise ApiError(409, "report is closed")
        future: asyncio.Future[Position] = asyncio.get_running_loop().create_future()
        self._inflight[uid] = future
        try:
            position = await self._write(
                {"kind": MEASUREMENT, "report_id": report_id, "uid": uid, "content": scrubbed}
            )
            future.set_result(position)
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: a failed write is reported to each waiter, not logged
            raise
        finally:
            self._inflight.pop(uid, None)
        self.counters.accepted += 1
        return uid

    async def close_report(self, report_id: str) -> None:
        report = self.report(report_id)
        if report.closed:
            return  # closing twice is harmless: the probe may have lost our first reply
        await self._write({"kind": CLOSE, "report_id": report_id})
        self.counters.closed += 1

    def health(self) -> dict[str, Any]:
        follower = self._follower
        return {
            "status": "ok" if follower is not None and follower.error is None else "degraded",
            "backend_version": BACKEND_VERSION,
            "reports_open": sum(1 for report in self.state.reports.values() if not report.closed),
            "measurements_acknowledged": len(self.state.acknowledged),
            "measurements_stored_since_start": follower.stored if follower else 0,
            "replayed_at_start": follower.replayed if follower else 0,
            "store_caught_up": follower.caught_up if follower else False,
            "accepted": self.counters.accepted,
            "duplicates": self.counters.duplicates,
            "rejected": {str(status): count for status, count in sorted(self.counters.rejected.items())},
            "spool_torn_tail_bytes": self.startup_scan.torn_tail,
        }
