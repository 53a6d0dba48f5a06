"""Submit measurements to a collector (ooni/spec backends/bk-003-collector.md), spooling what
cannot be delivered now.

`CollectorSink` is a runner sink (Callable[[dict], None]): it only queues the measurement, a worker
thread spools it (fsync'd) and submits it, and removes it from the spool once the collector has
acknowledged it. So a probe killed at any moment keeps every measurement it had finished, and an
unreachable collector costs one timeout, not one per measurement. `flush_spool` is what
`censorwatch upload` runs.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import httpx

from censorwatch.probe.spool import SpoolEntry, UploadSpool, default_spool_dir

TOKEN_ENV: Final = "CENSORWATCH_COLLECTOR_TOKEN"
SOFTWARE_NAME: Final = "censorwatch"
SOFTWARE_VERSION: Final = "0.1.0"
RETRY_AFTER: Final = 30.0  # seconds an unreachable collector is left alone
RETRY_STATUSES: Final = frozenset({401, 403, 408, 429})
log = logging.getLogger("censorwatch.probe.collector")


class CollectorError(Exception):
    pass


class CollectorUnavailable(CollectorError):
    """Network failure or 5xx: the measurement stays spooled for a later try."""


class CollectorRejected(CollectorError):
    """4xx: this request will never succeed as it is."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status}: {reason}")
        self.status = status
        self.reason = reason


class ReportGone(CollectorRejected):
    """The report is unknown or closed: open a new one and resubmit (bk-003 §3.2)."""


ReportKey = tuple[str, str, str, str, str, str]


def report_fields(measurement: dict[str, Any]) -> dict[str, str]:
    """The open-report request (bk-003 §3.1) for the report a measurement belongs in."""

    def text(name: str, default: str) -> str:
        value = measurement.get(name)
        return value if isinstance(value, str) and value else default

    return {
        "probe_cc": text("probe_cc", "ZZ").upper(),
        "probe_asn": text("probe_asn", "AS0").upper(),
        "software_name": text("software_name", SOFTWARE_NAME),
        "software_version": text("software_version", SOFTWARE_VERSION),
        "test_name": text("test_name", "unknown"),
        "test_version": text("test_version", "0.0.0"),
        "data_format_version": text("data_format_version", "0.2.0"),
        "format": "json",
    }


def _key(fields: dict[str, str]) -> ReportKey:
    return (
        fields["test_name"], fields["probe_cc"], fields["probe_asn"],
        fields["software_name"], fields["software_version"], fields["test_version"],
    )


class CollectorClient:
    """One collector, synchronous (used from a worker thread or a command)."""

    def __init__(self, base_url: str, token: str | None = None, timeout: float = 30.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        token = token if token is not None else os.environ.get(TOKEN_ENV) or None
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout, transport=transport)

    def close(self) -> None:
        self._http.close()

    def _post(self, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
        try:
            response = self._http.post(path, json=body) if body is not None else self._http.post(path)
        except httpx.HTTPError as error:
            raise CollectorUnavailable(f"{type(error).__name__}: {error}") from error
        try:
            data = response.json()
        except ValueError:
            data = None
        reason = data.get("error") if isinstance(data, dict) else None
        if response.status_code >= 500 or response.status_code in RETRY_STATUSES:
            # A wrong token or a busy collector is not the measurement's fault: keep it for later.
            raise CollectorUnavailable(f"collector answered {response.status_code}: {reason or response.reason_phrase}")
        if response.status_code >= 400:
            kind = ReportGone if response.status_code in (404, 409) and path != "/report" else CollectorRejected
            raise kind(response.status_code, str(reason or response.reason_phrase))
        if response.status_code != 200 or not isinstance(data, dict):
            raise CollectorUnavailable(f"unexpected answer {response.status_code} from the collector")
        return data

    def open_report(self, fields: dict[str, str]) -> str:
        data = self._post("/report", fields)
        report_id = data.get("report_id")
        if not isinstance(report_id, str) or not report_id:
            raise CollectorUnavailable("collector answered without a report_id")
        return report_id

    def submit(self, report_id: str, measurement: dict[str, Any]) -> str:
        data = self._post(f"/report/{report_id}", {"format": "json", "content": measurement})
        uid = data.get("measurement_uid")
        if not isinstance(uid, str) or not uid:
            raise CollectorUnavailable("collector answered without a measurement_uid")
        return uid

    def close_report(self, report_id: str) -> None:
        self._post(f"/report/{report_id}/close", None)


@dataclass
class UploadStats:
    sent: int = 0
    kept: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)


class Uploader:
    """Delivers spool entries, one report per (test, network, software) and collector."""

    def __init__(self, spool: UploadSpool, client_for: Callable[[str], CollectorClient]) -> None:
        self.spool = spool
        self._client_for = client_for
        self._reports: dict[tuple[str, ReportKey], str] = {}
        self._opened: dict[str, str] = {}  # report id -> collector url

    def _report(self, url: str, fields: dict[str, str]) -> str:
        key = (url, _key(fields))
        report_id = self._reports.get(key)
        if report_id is None:
            report_id = self._client_for(url).open_report(fields)
            self._reports[key] = report_id
            self._opened[report_id] = url
        return report_id

    def _forget(self, report_id: str) -> None:
        for key, known in list(self._reports.items()):
            if known == report_id:
                del self._reports[key]

    def deliver(self, path: Any, entry: SpoolEntry, stats: UploadStats) -> bool:
        """Try once (twice when the report has gone). False when the collector is unreachable."""
        for _ in range(2):
            try:
                if entry.report_id is None:
                    report_id = self._report(entry.collector, report_fields(entry.measurement))
                    # Recorded before submitting: a retry after a crash reuses this report, so the
                    # collector recognises the retry and stores the measurement once.
                    entry.report_id = report_id
                    entry.measurement = {**entry.measurement, "report_id": report_id}
                    self.spool.update(path, entry)
                self._client_for(entry.collector).submit(entry.report_id, entry.measurement)
            except CollectorUnavailable as error:
                stats.kept += 1
                stats.errors.append(str(error))
                return False
            except ReportGone:
                self._forget(entry.report_id or "")
                entry.report_id = None
                continue
            except CollectorRejected as error:
                self.spool.reject(path, error.reason)
                stats.rejected += 1
                stats.errors.append(str(error))
                return True
            self.spool.remove(path)
            stats.sent += 1
            return True
        stats.kept += 1
        return True

    def flush(self, collector: str | None = None) -> UploadStats:
        """Every pending entry once; `collector` overrides the URL each entry was meant for."""
        stats = UploadStats()
        unreachable: set[str] = set()
        for path, entry in self.spool.entries():
            if collector is not None and entry.collector != collector:
                entry.collector = collector
                entry.report_id = None
            if entry.collector in unreachable:
                stats.kept += 1
                continue
            if not self.deliver(path, entry, stats):
                unreachable.add(entry.collector)
        return stats

    def close_reports(self) -> None:
        """Close the reports this uploader opened, unless a spooled entry still waits on one."""
        waiting = set()
        for _, entry in self.spool.entries():
            if entry.report_id:
                waiting.add(entry.report_id)
        for report_id, url in list(self._opened.items()):
            if report_id in waiting:
                continue
            try:
                self._client_for(url).close_report(report_id)
            except CollectorError as error:
                log.info("could not close report: %s", error)
            del self._opened[report_id]
            self._forget(report_id)


class Clients:
    """One CollectorClient per URL, closed together."""

    def __init__(self, token: str | None = None, timeout: float = 30.0) -> None:
        self._token = token
        self._timeout = timeout
        self._clients: dict[str, CollectorClient] = {}

    def __call__(self, url: str) -> CollectorClient:
        client = self._clients.get(url)
        if client is None:
            client = self._clients[url] = CollectorClient(url, self._token, self._timeout)
        return client

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()


def flush_spool(spool: UploadSpool, collector: str | None = None, token: str | None = None,
                timeout: float = 30.0) -> UploadStats:
    """`censorwatch upload`: submit every pending entry; an entry leaves the spool only once the
    collector has acknowledged it (or refused it for good: then it moves to rejected/)."""
    spool.discard_torn()
    clients = Clients(token, timeout)
    uploader = Uploader(spool, clients)
    try:
        stats = uploader.flush(collector)
        uploader.close_reports()
        return stats
    finally:
        clients.close()


_STOP: Final = object()


class CollectorSink:
    """A probe runner sink: `sink(measurement)` returns at once; a worker thread does the I/O."""

    def __init__(self, collector: str, spool: UploadSpool, token: str | None = None, timeout: float = 30.0) -> None:
        self.collector = collector.rstrip("/")
        self.spool = spool
        self.stats = UploadStats()
        self._clients = Clients(token, timeout)
        self._uploader = Uploader(spool, self._clients)
        self._queue: queue.Queue[object] = queue.Queue()
        self._down_until = 0.0
        self._thread = threading.Thread(target=self._work, name="collector-sink", daemon=True)
        self._thread.start()
        # A runner that forgets close() still gets every queued measurement spooled at exit.
        atexit.register(self.close)

    def __call__(self, measurement: dict[str, Any]) -> None:
        self._queue.put(dict(measurement))

    def __enter__(self) -> CollectorSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            assert isinstance(item, dict)
            entry = SpoolEntry(item, self.collector)
            path = self.spool.put(entry)
            if time.monotonic() < self._down_until:
                self.stats.kept += 1
                continue
            if not self._uploader.deliver(path, entry, self.stats):
                self._down_until = time.monotonic() + RETRY_AFTER
                log.warning("collector %s unreachable; measurements stay in %s", self.collector, self.spool.directory)

    def summary_line(self) -> str:
        line = f"collector {self.collector}: {self.stats.sent} submitted"
        if self.stats.kept:
            line += (f", {self.stats.kept} kept in {self.spool.directory} "
                     f"(run `censorwatch upload --spool {self.spool.directory}` later)")
        if self.stats.rejected:
            line += f", {self.stats.rejected} refused (see {self.spool.rejected})"
        return line

    def close(self) -> UploadStats:
        """Wait for queued measurements, then close the reports nothing waits on any more."""
        atexit.unregister(self.close)
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()
            if time.monotonic() >= self._down_until:
                self._uploader.close_reports()
            self._clients.close()
        return self.stats


def collector_sink(collector: str | None, db: Path | None = None) -> CollectorSink | None:
    """What `censorwatch probe --collector URL` adds to its sinks: None without a URL; the spool is
    upload-spool/ next to --db (else in ~/.local/share/censorwatch/)."""
    if not collector:
        return None
    return CollectorSink(collector, UploadSpool(default_spool_dir(db)))
