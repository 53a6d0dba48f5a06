"""Runs Web Connectivity over many URLs: bounded concurrency, a per-host limit, a deadline per URL,
and sinks (output file, store, collector) fed as each measurement finishes."""

from __future__ import annotations

import asyncio
import traceback
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from censorwatch.model import failures
from censorwatch.model.measurement import new_report_id
from censorwatch.probe.config import ProbeConfig
from censorwatch.probe.control_client import ControlClient
from censorwatch.probe.web_connectivity import TEST_NAME, failed_measurement, measure

Sink = Callable[[dict[str, Any]], None]
PER_HOST_LIMIT = 4
STOP_GRACE_SECONDS = 1.0


@dataclass
class RunSummary:
    measured: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    interrupted: bool = False


def url_deadline(config: ProbeConfig) -> float:
    """DNS, connects (in parallel), TLS, a redirect chain and the control: generous but bounded."""
    return config.timeout * 12 + 10


class ProbeRunner:
    def __init__(self, config: ProbeConfig, concurrency: int = 16, sinks: list[Sink] | None = None) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.config = config
        self.concurrency = concurrency
        self.sinks: list[Sink] = list(sinks or [])
        self.report_id = new_report_id(TEST_NAME, config.probe_cc, config.probe_asn)
        self.summary = RunSummary()
        self._per_host: dict[str, asyncio.Semaphore] = {}

    def _host_gate(self, url: str) -> asyncio.Semaphore:
        host = urlsplit(url).hostname or ""
        return self._per_host.setdefault(host, asyncio.Semaphore(PER_HOST_LIMIT))

    async def _one(self, url: str, control: ControlClient) -> dict[str, Any]:
        started = datetime.now(UTC)
        try:
            async with self._host_gate(url):
                return await asyncio.wait_for(measure(url, self.config, control, self.report_id),
                                              url_deadline(self.config))
        except TimeoutError:
            self.summary.errors["measurement deadline exceeded"] += 1
            return failed_measurement(url, self.config, self.report_id, started, failures.GENERIC_TIMEOUT)
        except Exception as error:  # one URL's bug must not end the run; it is recorded with its reason
            self.summary.errors[type(error).__name__] += 1
            detail = "".join(traceback.format_exception_only(error)).strip()
            return failed_measurement(url, self.config, self.report_id, started, failures.unknown(detail))

    def _deliver(self, measurement: dict[str, Any]) -> None:
        self.summary.measured += 1
        for sink in self.sinks:
            sink(measurement)

    async def run(self, urls: Iterable[str]) -> RunSummary:
        queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=self.concurrency * 2)
        control = ControlClient(self.config)

        async def worker() -> None:
            while True:
                url = await queue.get()
                if url is None:
                    return
                self._deliver(await self._one(url, control))

        workers = [asyncio.create_task(worker()) for _ in range(self.concurrency)]
        try:
            for url in urls:
                await queue.put(url)
            for _ in workers:
                await queue.put(None)
            await asyncio.gather(*workers)
        except asyncio.CancelledError:
            self.summary.interrupted = True
            raise
        finally:
            await _stop(workers)
            await control.aclose()
        return self.summary


async def _stop(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel until every task has ended: a cancellation swallowed deep in a library (a close
    that suppresses CancelledError) would otherwise leave a worker waiting on an empty queue and
    the interrupted run hanging."""
    pending = [task for task in tasks if not task.done()]
    while pending:
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=STOP_GRACE_SECONDS)
        pending = [task for task in pending if not task.done()]
    for task in tasks:
        if not task.cancelled():
            task.exception()  # retrieved: asyncio would log it as never retrieved
