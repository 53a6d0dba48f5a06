"""Telegram (ooni/spec nettests/ts-020-telegram.md, spec 2022-12-07; probe-cli's telegram).

An HTTP POST to every data-centre (DC) address on every DC port (80 and 443, plain HTTP on both:
the DCs answer HTTP there, not TLS), and an HTTPS GET of Telegram Web. Verdict keys as probe-cli
writes them: `telegram_tcp_blocking` stays true unless some DC step got past the TCP connect,
`telegram_http_blocking` stays true unless some POST got a response, and Telegram Web is blocked
when its GET failed at DNS, TCP, TLS or I/O (any HTTP status is a success since probe-cli#999).

Section keys (docs/probe-endpoints.md): `datacenters` (addresses; a hostname is resolved through
the probe's resolver), `ports`, `web_url`, optional `connect_to` (messenger_steps)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from censorwatch.probe.experiment import ExperimentContext, finish, new_measurement
from censorwatch.probe.experiments.messenger_steps import (
    CONNECT,
    HostPort,
    Outcome,
    Trace,
    connect_to_map,
    http_transaction,
    http_url,
    port_list,
    string_list,
    url_for,
)

TEST_NAME = "telegram"
# 0.3.0 is probe-cli's version with the spec's 2022-12-07 web rule whose layout we write: a failed
# request is kept in `requests` with its failure (0.3.1, a rewrite, keeps only answered ones).
TEST_VERSION = "0.3.0"
TAKES_URLS = False
CONCURRENCY = 8


@dataclass(frozen=True)
class TelegramEndpoints:
    datacenters: tuple[str, ...]
    ports: tuple[int, ...]
    web_url: str
    connect_to: Mapping[HostPort, HostPort]


def parse_section(section: Mapping[str, Any]) -> TelegramEndpoints:
    return TelegramEndpoints(
        datacenters=string_list(section, "datacenters", TEST_NAME),
        ports=port_list(section, "ports", TEST_NAME),
        web_url=http_url(section, "web_url", TEST_NAME),
        connect_to=connect_to_map(section, TEST_NAME),
    )


def inputs(section: Mapping[str, Any]) -> list[str | None]:
    parse_section(section)  # a broken section fails before anything is measured
    return [None]


def verdict_keys(dc_outcomes: list[Outcome], web: Outcome) -> dict[str, Any]:
    """probe-cli's TestKeys.Update: both flags start true and each DC success clears them; a DC
    step that failed after its connect still clears the TCP flag."""
    tcp_blocking = http_blocking = True
    for outcome in dc_outcomes:
        if outcome.failure is None:
            tcp_blocking = http_blocking = False
        elif outcome.failed_operation != CONNECT:
            tcp_blocking = False
    return {
        "telegram_http_blocking": http_blocking,
        "telegram_tcp_blocking": tcp_blocking,
        "telegram_web_failure": web.failure,
        "telegram_web_status": "ok" if web.failure is None else "blocked",
    }


async def measure(input: str | None, context: ExperimentContext) -> dict[str, Any]:
    endpoints = parse_section(context.section)
    t0 = time.monotonic()
    measurement = new_measurement(TEST_NAME, TEST_VERSION, input, context, datetime.now(UTC))
    config = context.config
    limit = asyncio.Semaphore(CONCURRENCY)

    async def step(url: str, method: str) -> tuple[Outcome, Trace]:
        trace = Trace(t0)
        async with limit:
            outcome = await http_transaction(url, config, trace, method=method, connect_to=endpoints.connect_to)
        return outcome, trace

    dc_urls = [url_for(dc, port) for dc in endpoints.datacenters for port in endpoints.ports]
    results = await asyncio.gather(step(endpoints.web_url, "GET"), *(step(url, "POST") for url in dc_urls))
    merged = Trace(t0)
    for _, trace in results:
        merged.merge(trace)
    (web, _), dcs = results[0], [outcome for outcome, _ in results[1:]]
    return finish(measurement, {**merged.test_keys(), **verdict_keys(dcs, web)}, t0)
