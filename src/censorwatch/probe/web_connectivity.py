"""The Web Connectivity experiment for one URL (ooni/spec nettests/ts-017-web-connectivity.md):
resolve, connect to every address, TLS per address for https, fetch, and compare with the
control. Returns a complete OONI measurement; every step is bounded in time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from censorwatch.analysis.web_connectivity_keys import ooni_keys
from censorwatch.model import failures
from censorwatch.model.measurement import SCRUBBED_IP
from censorwatch.probe.config import ProbeConfig
from censorwatch.probe.dns_lookup import DnsLookup, lookup
from censorwatch.probe.endpoints import endpoint, measure_endpoint
from censorwatch.probe.experiment import ExperimentContext, finish, new_measurement
from censorwatch.probe.http_fetch import fetch

TEST_NAME = "web_connectivity"
TEST_VERSION = "0.4.3"


TAKES_URLS = True


def inputs(section: Mapping[str, Any]) -> list[str | None]:
    """Web Connectivity measures the URLs the user gives; it has no default list."""
    return []


async def measure(input: str | None, context: ExperimentContext) -> dict[str, Any]:
    if input is None or context.control is None:
        raise ValueError("web_connectivity measures a URL against a control")
    url, config, control = input, context.config, context.control
    started = datetime.now(UTC)
    t0 = time.monotonic()
    measurement = new_measurement(TEST_NAME, TEST_VERSION, url, context, started)
    parts = urlsplit(url)
    host = parts.hostname or ""
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)

    dns_result = await _lookup(host, config, t0)
    endpoints = [endpoint(ip, port) for ip in dns_result.addrs]

    async def resolve(name: str) -> list[str]:
        return (await _lookup(name, config, t0)).addrs

    # Once DNS has answered, the control, the connects to every address and the GET are independent: they run
    # together. The GET still dials the addresses itself (v0.4's HTTPGet does), but no longer after the connects,
    # so a URL whose connects time out waits one timeout instead of two (issue #21 item 8).
    control_task = asyncio.create_task(control.control(url, endpoints))
    fetch_task = asyncio.create_task(fetch(url, dns_result.addrs, resolve, config, t0)) if dns_result.addrs else None
    try:
        pairs = await asyncio.gather(
            *(measure_endpoint(ip, port, host if https else None, config, t0) for ip in dns_result.addrs)
        )
        if fetch_task is not None:
            fetched = await fetch_task
            requests, http_failure = fetched.requests, fetched.failure
        else:
            requests, http_failure = [], dns_result.failure
        answer = await control_task
    finally:
        # A deadline or an error must not leave them running: cancelled, and waited for.
        pending = [task for task in (control_task, fetch_task) if task is not None and not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
    control_result, control_failure = answer.response, answer.failure
    if answer.helper is not None:
        # df-000 `test_helpers`, as probe-cli writes it: {"backend": {"address", "type"}}.
        measurement["test_helpers"] = {"backend": {"address": answer.helper, "type": "https"}}

    test_keys: dict[str, Any] = {
        "agent": "redirect",
        "client_resolver": SCRUBBED_IP,
        "retries": None,
        "socksproxy": None,
        "queries": dns_result.queries,
        "dns_experiment_failure": dns_result.failure,
        "tcp_connect": [tcp for tcp, _ in pairs],
        "tls_handshakes": [tls for _, tls in pairs if tls is not None],
        "requests": requests,
        "http_experiment_failure": http_failure,
        "control": control_result,
        "control_failure": control_failure,
    }
    test_keys.update(ooni_keys(test_keys))
    return finish(measurement, test_keys, t0)


async def _lookup(host: str, config: ProbeConfig, t0: float) -> DnsLookup:
    try:
        return await asyncio.wait_for(lookup(host, config, t0), config.timeout * 2 + 1)
    except TimeoutError:
        return DnsLookup(failure=failures.GENERIC_TIMEOUT)


def failed_test_keys(failure: str) -> dict[str, Any]:
    """The keys of a URL whose measurement could not finish (deadline, unexpected error)."""
    return {
        "queries": [],
        "tcp_connect": [],
        "tls_handshakes": [],
        "requests": [],
        "dns_experiment_failure": None,
        "http_experiment_failure": failure,
        "control": {},
        "control_failure": failure,
        "blocking": None,
        "accessible": None,
    }
