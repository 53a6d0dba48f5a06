"""WhatsApp (ooni/spec nettests/ts-018-whatsapp.md, spec 2020-07-09; probe-cli's whatsapp 0.11.0).

A TCP connect to every endpoint (e1..e16.whatsapp.net) on every endpoint port (443 and 5222), an
HTTPS GET of the registration service and one of WhatsApp Web. Verdict keys as probe-cli writes
them: the endpoints are "ok" when any connect succeeded; an endpoint whose every port failed is
listed in `whatsapp_endpoints_blocked`; the registration service and the web are "blocked" when
their GET failed at DNS, TCP, TLS or I/O (the status code does not matter). The plain-HTTP web
check went away in 0.10.0 and `whatsapp_endpoints_dns_inconsistent` is a legacy key, always [].

Section keys (docs/probe-endpoints.md): `endpoints`, `endpoint_ports`, `registration_url`,
`web_url`, optional `connect_to` (messenger_steps)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from censorwatch.probe.experiment import ExperimentContext, finish, new_measurement
from censorwatch.probe.experiments.messenger_steps import (
    HostPort,
    Outcome,
    Trace,
    connect_to_map,
    http_transaction,
    http_url,
    port_list,
    string_list,
    tcp_connect,
)

TEST_NAME = "whatsapp"
TEST_VERSION = "0.11.0"
TAKES_URLS = False
CONCURRENCY = 16  # 32 endpoint connects: at most two rounds of timeouts when everything is dropped


@dataclass(frozen=True)
class WhatsappEndpoints:
    endpoints: tuple[str, ...]
    endpoint_ports: tuple[int, ...]
    registration_url: str
    web_url: str
    connect_to: Mapping[HostPort, HostPort]


def parse_section(section: Mapping[str, Any]) -> WhatsappEndpoints:
    return WhatsappEndpoints(
        endpoints=string_list(section, "endpoints", TEST_NAME),
        endpoint_ports=port_list(section, "endpoint_ports", TEST_NAME),
        registration_url=http_url(section, "registration_url", TEST_NAME),
        web_url=http_url(section, "web_url", TEST_NAME),
        connect_to=connect_to_map(section, TEST_NAME),
    )


def inputs(section: Mapping[str, Any]) -> list[str | None]:
    parse_section(section)  # a broken section fails before anything is measured
    return [None]


def verdict_keys(endpoints: list[tuple[str, Outcome]], registration: Outcome, web: Outcome) -> dict[str, Any]:
    failed: dict[str, int] = {}
    tried: dict[str, int] = {}
    for host, outcome in endpoints:
        tried[host] = tried.get(host, 0) + 1
        if outcome.failure is not None:
            failed[host] = failed.get(host, 0) + 1
    return {
        "registration_server_failure": registration.failure,
        "registration_server_status": "ok" if registration.failure is None else "blocked",
        # probe-cli counts two failures (443 and 5222); with other ports: every port failed.
        "whatsapp_endpoints_blocked": [host for host in tried if failed.get(host, 0) == tried[host]],
        "whatsapp_endpoints_dns_inconsistent": [],
        "whatsapp_endpoints_status": "ok" if any(o.failure is None for _, o in endpoints) else "blocked",
        "whatsapp_web_failure": web.failure,
        "whatsapp_web_status": "ok" if web.failure is None else "blocked",
    }


async def measure(input: str | None, context: ExperimentContext) -> dict[str, Any]:
    spec = parse_section(context.section)
    t0 = time.monotonic()
    measurement = new_measurement(TEST_NAME, TEST_VERSION, input, context, datetime.now(UTC))
    config = context.config
    limit = asyncio.Semaphore(CONCURRENCY)

    async def fetch(url: str) -> tuple[Outcome, Trace]:
        trace = Trace(t0)
        async with limit:
            outcome = await http_transaction(url, config, trace, connect_to=spec.connect_to)
        return outcome, trace

    async def connect(host: str, port: int) -> tuple[Outcome, Trace]:
        trace = Trace(t0)
        async with limit:
            outcome = await tcp_connect(host, port, config, trace, spec.connect_to)
        return outcome, trace

    targets = [(host, port) for host in spec.endpoints for port in spec.endpoint_ports]
    results = await asyncio.gather(fetch(spec.registration_url), fetch(spec.web_url),
                                   *(connect(host, port) for host, port in targets))
    merged = Trace(t0)
    for _, trace in results:
        merged.merge(trace)
    registration, web = results[0][0], results[1][0]
    endpoint_outcomes = [(host, outcome) for (host, _), (outcome, _) in zip(targets, results[2:], strict=True)]
    return finish(measurement, {**merged.test_keys(), **verdict_keys(endpoint_outcomes, registration, web)}, t0)
