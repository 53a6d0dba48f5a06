"""The Web Connectivity experiment for one URL (ooni/spec nettests/ts-017-web-connectivity.md):
resolve, connect to every address, TLS per address for https, fetch, and compare with the
control. Returns a complete OONI measurement; every step is bounded in time."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from censorwatch.analysis.web_connectivity_keys import ooni_keys
from censorwatch.model import failures
from censorwatch.model.measurement import (
    DATA_FORMAT_VERSION,
    SCRUBBED_IP,
    format_time,
    new_measurement_uid,
)
from censorwatch.probe.config import ProbeConfig
from censorwatch.probe.control_client import ControlClient
from censorwatch.probe.dns_lookup import DnsLookup, lookup
from censorwatch.probe.endpoints import endpoint, measure_endpoint
from censorwatch.probe.http_fetch import fetch

TEST_NAME = "web_connectivity"
TEST_VERSION = "0.4.3"


def base_measurement(url: str, config: ProbeConfig, report_id: str, started: datetime) -> dict[str, Any]:
    """df-000 base keys. probe_ip is OONI's scrubbed value: we never learn or keep our own IP."""
    return {
        "annotations": {"engine_name": "censorwatch", "platform": "linux"},
        "data_format_version": DATA_FORMAT_VERSION,
        "input": url,
        "measurement_start_time": format_time(started),
        "probe_asn": config.probe_asn,
        "probe_cc": config.probe_cc,
        "probe_ip": SCRUBBED_IP,
        "probe_network_name": config.probe_network_name,
        "report_id": report_id,
        "resolver_asn": "AS0",
        "resolver_ip": SCRUBBED_IP,
        "resolver_network_name": None,
        "software_name": config.software_name,
        "software_version": config.software_version,
        "test_helpers": {},  # filled with the helper that answered, once one has
        "test_name": TEST_NAME,
        "test_version": TEST_VERSION,
        "test_start_time": format_time(started),
    }


async def measure(url: str, config: ProbeConfig, control: ControlClient, report_id: str) -> dict[str, Any]:
    started = datetime.now(UTC)
    t0 = time.monotonic()
    measurement = base_measurement(url, config, report_id, started)
    parts = urlsplit(url)
    host = parts.hostname or ""
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)

    dns_result = await _lookup(host, config, t0)
    endpoints = [endpoint(ip, port) for ip in dns_result.addrs]
    control_task = asyncio.create_task(control.control(url, endpoints))
    pairs = await asyncio.gather(
        *(measure_endpoint(ip, port, host if https else None, config, t0) for ip in dns_result.addrs)
    )

    async def resolve(name: str) -> list[str]:
        return (await _lookup(name, config, t0)).addrs

    if dns_result.addrs:
        fetched = await fetch(url, dns_result.addrs, resolve, config, t0)
        requests, http_failure = fetched.requests, fetched.failure
    else:
        requests, http_failure = [], dns_result.failure
    answer = await control_task
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
    measurement["test_keys"] = test_keys
    measurement["test_runtime"] = round(time.monotonic() - t0, 6)
    measurement["resolver_ip"] = SCRUBBED_IP
    measurement["measurement_uid"] = new_measurement_uid(measurement)
    return measurement


async def _lookup(host: str, config: ProbeConfig, t0: float) -> DnsLookup:
    try:
        return await asyncio.wait_for(lookup(host, config, t0), config.timeout * 2 + 1)
    except TimeoutError:
        return DnsLookup(failure=failures.GENERIC_TIMEOUT)


def failed_measurement(
    url: str, config: ProbeConfig, report_id: str, started: datetime, failure: str
) -> dict[str, Any]:
    """A URL whose measurement could not finish (deadline, unexpected error) is still recorded,
    with the reason, so a run never silently drops an input."""
    measurement = base_measurement(url, config, report_id, started)
    measurement["test_keys"] = {
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
    measurement["test_runtime"] = 0.0
    measurement["measurement_uid"] = new_measurement_uid(measurement)
    return measurement
