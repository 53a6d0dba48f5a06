"""Signal (ooni/spec nettests/ts-029-signal.md, probe-cli test_version 0.2.5): an HTTPS GET to each
of Signal's service hosts, verified against Signal's own CA, and a DNS lookup of the uptime name
whose result is recorded but never judged. Any endpoint failing makes `signal_backend_status`
"blocked" with that failure; analysis/signal.py judges the requests one by one.

Per endpoint: resolve through the run's resolver, connect and TLS to the addresses in turn until
one handshake succeeds (df-005 tcp_connect, df-006 tls_handshakes), then the GET (df-001). A
failure before the GET is recorded as the request's failure, as probe-cli's urlgetter does."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from censorwatch.probe.config import ProbeConfig
from censorwatch.probe.dns_lookup import lookup
from censorwatch.probe.endpoints import measure_endpoint
from censorwatch.probe.endpoints_file import EndpointsError
from censorwatch.probe.experiment import ExperimentContext, elapsed, finish, new_measurement
from censorwatch.probe.experiments._signal_tls import pinned_context, with_pinned
from censorwatch.probe.http_fetch import fetch

TEST_NAME = "signal"
TEST_VERSION = "0.2.5"
TAKES_URLS = False
MAX_ADDRESSES = 4  # a dropped endpoint costs one connect timeout per address tried


@dataclass(frozen=True)
class SignalSection:
    endpoints: tuple[str, ...]  # https URLs, GET each
    dns_lookups: tuple[str, ...]  # names looked up and recorded only (uptime.signal.org)
    ca_pems: tuple[str, ...]  # Signal's CA (or a lab's), trusted besides the public roots


def parse_section(section: Mapping[str, Any]) -> SignalSection:
    endpoints = _strings(section, "endpoints", required=True)
    for url in endpoints:
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            raise EndpointsError(f"signal: endpoints: {url!r} is not an https:// URL with a host")
    lookups = _strings(section, "dns_lookups", required=False)
    ca = section.get("ca_pem")
    pems = (ca,) if isinstance(ca, str) else tuple(ca) if isinstance(ca, list) else None
    if not pems or not all(isinstance(pem, str) and "BEGIN CERTIFICATE" in pem for pem in pems):
        raise EndpointsError("signal: ca_pem must be a PEM certificate (or a list of them): Signal's CA")
    return SignalSection(endpoints, lookups, pems)


def _strings(section: Mapping[str, Any], key: str, required: bool) -> tuple[str, ...]:
    value = section.get(key)
    if value is None and not required:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value) or (
            required and not value):
        raise EndpointsError(f"signal: {key} must be a {'non-empty ' if required else ''}list of strings")
    return tuple(value)


def inputs(section: Mapping[str, Any]) -> list[str | None]:
    """One input-less measurement; the section is checked here so a bad file fails before any traffic."""
    _context_for(parse_section(section))
    return [None]


def _context_for(section: SignalSection) -> ssl.SSLContext:
    try:
        return pinned_context(section.ca_pems)
    except ssl.SSLError as error:
        raise EndpointsError(f"signal: ca_pem is not a usable certificate: {error}") from error


def deadline(context: ExperimentContext) -> float:
    """DNS, a connect per address tried, the handshake and the GET (a few timeouts), in parallel."""
    return context.config.timeout * (MAX_ADDRESSES + 6) + 10


@dataclass
class _Endpoint:
    queries: list[dict[str, Any]] = field(default_factory=list)
    tcp_connect: list[dict[str, Any]] = field(default_factory=list)
    tls_handshakes: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    failure: str | None = None


def _failed_request(url: str, failure: str, started: float, t0: float) -> dict[str, Any]:
    return {"request": {"url": url, "method": "GET", "headers": {}, "body": "", "tor": {"is_tor": False}},
            "response": None, "failure": failure, "t0": round(started, 6), "t": elapsed(t0)}


async def _measure_url(url: str, config: ProbeConfig, pinned: ProbeConfig, t0: float) -> _Endpoint:
    out = _Endpoint()
    started = elapsed(t0)
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 443
    dns = await lookup(host, config, t0)
    out.queries = dns.queries
    if dns.failure:
        out.failure = dns.failure
        out.requests.append(_failed_request(url, dns.failure, started, t0))
        return out
    reached: str | None = None
    failures: list[str] = []
    for ip in dns.addrs[:MAX_ADDRESSES]:
        tcp, tls = await measure_endpoint(ip, port, host, pinned, t0)
        out.tcp_connect.append(tcp)
        if tls is not None:
            out.tls_handshakes.append(tls)
        failure = tcp["status"]["failure"] or (tls or {}).get("failure")
        if failure is None:
            reached = ip
            break
        failures.append(failure)
    if reached is None:
        # The first address's failure: IPv4 comes first, and a later IPv6 "network_unreachable" on a
        # host without IPv6 would hide what happened to it.
        out.failure = failures[0] if failures else "generic_timeout_error"
        out.requests.append(_failed_request(url, out.failure, started, t0))
        return out

    async def resolve(name: str) -> list[str]:
        return (await lookup(name, config, t0)).addrs

    # The GET on a connection of its own, to the address whose handshake just succeeded.
    result = await fetch(url, [reached], resolve, pinned, t0)
    out.requests.extend(result.requests)
    out.failure = result.failure
    return out


async def measure(input: str | None, context: ExperimentContext) -> dict[str, Any]:
    t0 = time.monotonic()
    measurement = new_measurement(TEST_NAME, TEST_VERSION, input, context)
    section = parse_section(context.section)
    pinned = with_pinned(context.config, _context_for(section))
    config = context.config
    endpoints = await asyncio.gather(*(_measure_url(url, config, pinned, t0) for url in section.endpoints))
    uptime = await asyncio.gather(*(lookup(name, config, t0) for name in section.dns_lookups))
    failure = next((endpoint.failure for endpoint in endpoints if endpoint.failure), None)
    test_keys: dict[str, Any] = {
        "agent": "redirect",
        # probe-cli's urlgetter keys at the top level stay null: each endpoint's failure is in its request.
        "failed_operation": None,
        "failure": None,
        "queries": [q for endpoint in endpoints for q in endpoint.queries] + [q for u in uptime for q in u.queries],
        "requests": [r for endpoint in endpoints for r in endpoint.requests],
        "tcp_connect": [c for endpoint in endpoints for c in endpoint.tcp_connect],
        "tls_handshakes": [h for endpoint in endpoints for h in endpoint.tls_handshakes],
        "signal_backend_status": "blocked" if failure else "ok",
        "signal_backend_failure": failure,
    }
    return finish(measurement, test_keys, t0)
