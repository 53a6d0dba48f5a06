"""`events watch`: detect, then post each new event alert to a webhook, again and again
(docs/events.md, "Alerts"). What is pending and what was delivered: analysis/events/alerts.py.

A pass opens the store, runs the detector (unless told not to), posts the pending alerts one by
one (each with retries and exponential backoff), records each 2xx at once, and closes the store
again so that ingest can write between passes (DuckDB allows one writing process). When the
receiver cannot be reached, the pass stops posting and the rest wait for the next pass; a
receiver that refuses one alert (a 4xx) does not hold up the others."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import httpx

from censorwatch import __version__
from censorwatch.analysis.events import alerts
from censorwatch.analysis.events.listing import Filters
from censorwatch.analysis.events.run import detect
from censorwatch.store import Store
from censorwatch.store.connection import StoreError

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class DeliveryError(Exception):
    """An alert the receiver did not take. `reachable` False: nothing else will get through now."""

    def __init__(self, message: str, reachable: bool) -> None:
        super().__init__(message)
        self.reachable = reachable


@dataclass(frozen=True)
class Retry:
    attempts: int = 4  # tries per alert within a pass
    first_delay: float = 1.0  # seconds before the second try; doubled for each further one
    max_delay: float = 60.0


class Webhook:
    """POSTs alerts as JSON. Proxies from the environment are not used (a webhook on loopback
    or the local network must not go through one)."""

    def __init__(self, url: str, timeout: float = 10.0, retry: Retry = Retry(),
                 sleep: Callable[[float], None] = time.sleep, transport: httpx.BaseTransport | None = None,
                 stop: threading.Event | None = None) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"the webhook must be an http:// or https:// URL, not {url!r}")
        self.url = url
        self.retry = retry
        self.sleep = sleep
        self.stop = stop  # set: the backoff ends at once and the alert waits for the next run
        self.client = httpx.Client(timeout=timeout, trust_env=False, follow_redirects=False, transport=transport,
                                   headers={"User-Agent": f"censorwatch/{__version__}",
                                            "Content-Type": "application/json"})

    def close(self) -> None:
        self.client.close()

    def post(self, alert: alerts.Alert) -> int:
        """The 2xx status the receiver answered; raises DeliveryError after the last try."""
        delay = self.retry.first_delay
        problem = ""
        for attempt in range(1, self.retry.attempts + 1):
            wait = delay
            try:
                response = self.client.post(self.url, content=alert.body(),
                                            headers={"Idempotency-Key": f"{alert.event_id}:{alert.kind}"})
            except httpx.HTTPError as error:
                problem, reachable = f"{type(error).__name__}: {error}", False
            else:
                if 200 <= response.status_code < 300:
                    return response.status_code
                problem = f"HTTP {response.status_code}"
                reachable = True
                if response.status_code not in RETRY_STATUSES:
                    raise DeliveryError(f"{problem} (not retried)", reachable=True)
                wait = max(delay, _retry_after(response.headers.get("Retry-After")))
            if attempt < self.retry.attempts:
                if self.stop is not None:
                    if self.stop.wait(min(wait, self.retry.max_delay)):
                        raise DeliveryError(f"{problem}; stopped before the next try", reachable=False)
                else:
                    self.sleep(min(wait, self.retry.max_delay))
                delay = min(delay * 2, self.retry.max_delay)
        raise DeliveryError(f"{problem} after {self.retry.attempts} tries", reachable=reachable)


def _retry_after(value: str | None) -> float:
    """Retry-After in seconds (the HTTP-date form is rare for webhooks and is not read)."""
    try:
        return max(0.0, float(value)) if value else 0.0
    except ValueError:
        return 0.0


@dataclass
class PassResult:
    detection: dict[str, Any] | None = None
    delivered: dict[str, int] = field(default_factory=lambda: dict.fromkeys(alerts.KINDS, 0))
    failed: list[str] = field(default_factory=list)
    left: int = 0  # alerts still pending after the pass
    store_error: str | None = None

    def line(self) -> str:
        if self.store_error:
            return f"store not available: {self.store_error}"
        parts = []
        if self.detection is not None:
            parts.append(f"detection read {self.detection['rows_read']} measurements, "
                         f"{self.detection['network_events']} network events")
        parts.append("posted " + ", ".join(f"{count} {kind}" for kind, count in self.delivered.items()))
        if self.left:
            parts.append(f"{self.left} waiting for the next pass")
        return "; ".join(parts)


@dataclass(frozen=True)
class WatchOptions:
    db: Path
    filters: Filters = field(default_factory=Filters)
    run_detection: bool = True


def one_pass(options: WatchOptions, hook: Webhook, stop: threading.Event | None = None) -> PassResult:
    result = PassResult()
    subscriber = alerts.subscriber_id(hook.url)
    try:
        store = Store(options.db)
    except (duckdb.Error, StoreError, OSError) as error:
        result.store_error = str(error)
        return result
    try:
        if options.run_detection:
            result.detection = detect(store.con).as_dict()
        alerts.ensure(store.con)
        todo = alerts.pending(store.con, subscriber, options.filters)
        _deliver(store.con, subscriber, hook, todo, result, stop)
    finally:
        store.close()
    return result


def _deliver(con: duckdb.DuckDBPyConnection, subscriber: str, hook: Webhook, todo: list[alerts.Alert],
             result: PassResult, stop: threading.Event | None) -> None:
    unstarted: set[str] = set()  # events whose start did not get through: their end waits too
    for index, alert in enumerate(todo):
        if stop is not None and stop.is_set():
            result.left = len(todo) - index
            return
        if alert.kind == "end" and alert.event_id in unstarted:
            result.left += 1
            continue
        try:
            status = hook.post(alert)
        except DeliveryError as error:
            result.failed.append(f"{alert.kind} {alert.event_id}: {error}")
            if alert.kind == "start":
                unstarted.add(alert.event_id)
            if not error.reachable:
                result.left += len(todo) - index
                return
            result.left += 1
            continue
        alerts.mark(con, subscriber, alert, status)
        result.delivered[alert.kind] += 1


def watch(options: WatchOptions, hook: Webhook, interval: float, once: bool, stop: threading.Event,
          report: Callable[[int, PassResult], None]) -> PassResult:
    """Passes every `interval` seconds (from the start of one to the start of the next) until
    `stop` is set; with `once`, a single pass. Returns the last pass."""
    number = 0
    while True:
        number += 1
        started = time.monotonic()
        result = one_pass(options, hook, stop)
        report(number, result)
        if once or stop.is_set():
            return result
        stop.wait(max(0.0, interval - (time.monotonic() - started)))
        if stop.is_set():
            return result


def stamp() -> str:
    return datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S")
