"""Runs the probe's tests over their inputs: bounded concurrency, a per-host limit, a deadline per
measurement, and sinks (output file, store, collector) fed as each measurement finishes."""

from __future__ import annotations

import asyncio
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

from censorwatch.model import failures
from censorwatch.model.measurement import new_report_id
from censorwatch.probe.config import ProbeConfig
from censorwatch.probe.control_client import ControlClient
from censorwatch.probe.endpoints_file import Endpoints, load_endpoints
from censorwatch.probe.experiment import ExperimentContext, History, finish, new_measurement
from censorwatch.probe.experiments import DEFAULT_TEST, experiment
from censorwatch.probe.web_connectivity import failed_test_keys

Sink = Callable[[dict[str, Any]], None]
PER_HOST_LIMIT = 4
ALONE = frozenset({"throttling"})  # tests whose measurements must not overlap one another
STOP_GRACE_SECONDS = 1.0


@dataclass(frozen=True)
class Job:
    """One measurement to make: a test and its input (None for a test that takes none)."""

    test_name: str
    input: str | None


def web_jobs(urls: Iterable[str]) -> list[Job]:
    return [Job(DEFAULT_TEST, url) for url in urls]


@dataclass
class RunSummary:
    measured: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    interrupted: bool = False


def url_deadline(config: ProbeConfig) -> float:
    """DNS, connects (in parallel), TLS, a redirect chain and the control: generous but bounded."""
    return config.timeout * 12 + 10


class ProbeRunner:
    def __init__(self, config: ProbeConfig, concurrency: int = 16, sinks: list[Sink] | None = None,
                 endpoints: Endpoints | None = None, history: History | None = None) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.config = config
        self.concurrency = concurrency
        self.sinks: list[Sink] = list(sinks or [])
        self.endpoints = endpoints
        self.history = history
        self.summary = RunSummary()
        self._report_ids: dict[str, str] = {}
        self._gates: dict[str, asyncio.Semaphore] = {}

    def report_id(self, test_name: str) -> str:
        """One report per test per run, as OONI Probe opens one report per experiment."""
        if test_name not in self._report_ids:
            self._report_ids[test_name] = new_report_id(test_name, self.config.probe_cc, self.config.probe_asn)
        return self._report_ids[test_name]

    def _gate(self, job: Job) -> asyncio.Semaphore:
        # Throttling: one download at a time, or two would share the link and measure each other.
        # URLs: a few at a time per host, as a browser would. Tests without URLs: a few at a time per
        # test, so a run of many inputs does not start dozens of tor or openvpn processes at once.
        if job.test_name in ALONE:
            return self._gates.setdefault(f"test:{job.test_name}", asyncio.Semaphore(1))
        key = urlsplit(job.input).hostname or "" if job.input and "://" in job.input else f"test:{job.test_name}"
        return self._gates.setdefault(key, asyncio.Semaphore(PER_HOST_LIMIT))

    def _context(self, job: Job, control: ControlClient) -> ExperimentContext:
        section: Mapping[str, Any] = {}
        if job.test_name != DEFAULT_TEST:  # Web Connectivity measures the user's URLs, no endpoints
            if self.endpoints is None:
                self.endpoints = load_endpoints()
            section = self.endpoints.section(job.test_name)
        return ExperimentContext(self.config, section, self.report_id(job.test_name), control, self.history)

    async def _one(self, job: Job, control: ControlClient) -> dict[str, Any]:
        started = datetime.now(UTC)
        module = experiment(job.test_name)
        context = self._context(job, control)
        deadline = module.deadline(context) if hasattr(module, "deadline") else url_deadline(self.config)
        try:
            async with self._gate(job):
                measurement: dict[str, Any] = await asyncio.wait_for(module.measure(job.input, context), deadline)
                return measurement
        except TimeoutError:
            self.summary.errors["measurement deadline exceeded"] += 1
            return _failed(module, job, context, started, failures.GENERIC_TIMEOUT)
        except Exception as error:  # one input's bug must not end the run; it is recorded with its reason
            self.summary.errors[type(error).__name__] += 1
            detail = "".join(traceback.format_exception_only(error)).strip()
            return _failed(module, job, context, started, failures.unknown(detail))

    def _deliver(self, measurement: dict[str, Any]) -> None:
        self.summary.measured += 1
        for sink in self.sinks:
            sink(measurement)

    async def run(self, jobs: Iterable[Job]) -> RunSummary:
        queue: asyncio.Queue[Job | None] = asyncio.Queue(maxsize=self.concurrency * 2)
        control = ControlClient(self.config)

        async def worker() -> None:
            while True:
                job = await queue.get()
                if job is None:
                    return
                self._deliver(await self._one(job, control))

        workers = [asyncio.create_task(worker()) for _ in range(self.concurrency)]
        try:
            for job in jobs:
                await queue.put(job)
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


def _failed(module: ModuleType, job: Job, context: ExperimentContext, started: datetime,
            failure: str) -> dict[str, Any]:
    """A measurement that could not finish (deadline, unexpected error) is still recorded, with
    the reason, so a run never silently drops an input."""
    measurement = new_measurement(job.test_name, module.TEST_VERSION, job.input, context, started)
    keys = failed_test_keys(failure) if job.test_name == DEFAULT_TEST else {"failure": failure}
    return finish(measurement, keys, time.monotonic())  # no runtime to report: what ran was cut off


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
