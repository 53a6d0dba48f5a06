"""dnscheck (ooni/spec nettests/ts-028-dnscheck.md; probe-cli internal/experiment/dnscheck): can
this network use a DNS-over-HTTPS or DNS-over-TLS resolver? One measurement per resolver URL
(`https://host[:port]/path` or `dot://host:port`):

1. bootstrap: the URL's host name is resolved through the probe's resolver (a failure, or a
   bogon answer when `reject_bogons` is on, is `bootstrap_failure`);
2. lookups: every address found, plus the section's known addresses for that resolver, is asked
   for `domain` (A and AAAA), each on its own; `lookups` maps the resolver URL rewritten to that
   address (probe-cli's makeResolverURL) to a urlgetter-shaped result.

The section (data/probe-endpoints.yaml, docs/probe-endpoints.md):

    domain: example.org          the name every resolver is asked for
    reject_bogons: true          bogon answers are errors (probe-cli's RejectDNSBogons)
    resolvers:                   a URL, or {url: URL, addrs: [IP, ...]} with known addresses
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import dns.exception
import dns.message
import dns.rcode
import dns.rdatatype

from censorwatch.analysis.bogons import is_bogon
from censorwatch.model import failures
from censorwatch.probe.dns_lookup import answer_rows, is_ip_literal, lookup
from censorwatch.probe.endpoints import endpoint
from censorwatch.probe.endpoints_file import EndpointsError
from censorwatch.probe.experiment import ExperimentContext, finish, new_measurement
from censorwatch.probe.experiments._encrypted_dns import Server, StepFailure, Trace, doh_exchange, dot_exchange

TEST_NAME = "dnscheck"
TEST_VERSION = "0.9.2"  # probe-cli's dnscheck whose test_keys we write
TAKES_URLS = False
DEFAULT_DOMAIN = "example.org"
SCHEMES = ("https", "dot")

Exchange = Callable[[bytes, Server], Awaitable[bytes]]

_RCODE_FAILURES = {
    dns.rcode.NXDOMAIN: failures.DNS_NXDOMAIN,
    dns.rcode.REFUSED: failures.DNS_REFUSED,
    dns.rcode.SERVFAIL: failures.DNS_SERVER_MISBEHAVING,
}


@dataclass(frozen=True)
class Resolver:
    url: str
    addrs: tuple[str, ...] = ()


def _check_url(url: str, key: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise EndpointsError(f"dnscheck: {key} {url!r} must be https://HOST[:PORT]/PATH or dot://HOST:PORT")
    try:
        parts.port  # noqa: B018 - urlsplit validates the port lazily
    except ValueError as error:
        raise EndpointsError(f"dnscheck: {key} {url!r} has a bad port: {error}") from error
    return url


def resolvers(section: Mapping[str, Any]) -> list[Resolver]:
    raw = section.get("resolvers")
    if not isinstance(raw, list) or not raw:
        raise EndpointsError("dnscheck: `resolvers` must be a non-empty list of resolver URLs")
    found: list[Resolver] = []
    for index, item in enumerate(raw):
        key = f"resolvers[{index}]"
        if isinstance(item, str):
            found.append(Resolver(_check_url(item, key)))
            continue
        if not isinstance(item, Mapping) or not isinstance(item.get("url"), str):
            raise EndpointsError(f"dnscheck: {key} must be a URL or a mapping with `url` (and `addrs`)")
        addrs = item.get("addrs", [])
        if not isinstance(addrs, list) or not all(isinstance(a, str) and is_ip_literal(a) for a in addrs):
            raise EndpointsError(f"dnscheck: {key}.addrs must be a list of IP addresses")
        found.append(Resolver(_check_url(item["url"], f"{key}.url"), tuple(addrs)))
    return found


def _domain(section: Mapping[str, Any]) -> str:
    domain = section.get("domain", DEFAULT_DOMAIN)
    if not isinstance(domain, str) or not domain:
        raise EndpointsError("dnscheck: `domain` must be a host name")
    return domain


def _reject_bogons(section: Mapping[str, Any]) -> bool:
    value = section.get("reject_bogons", True)
    if not isinstance(value, bool):
        raise EndpointsError("dnscheck: `reject_bogons` must be true or false")
    return value


def inputs(section: Mapping[str, Any]) -> list[str | None]:
    _domain(section)
    _reject_bogons(section)
    urls: list[str | None] = []
    for resolver in resolvers(section):
        if resolver.url not in urls:
            urls.append(resolver.url)
    return urls


def resolver_url_for(url: str, addr: str) -> str:
    """The input URL with its host replaced by one address (probe-cli's makeResolverURL)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not is_ip_literal(host):
        host = addr
    netloc = endpoint(host, parts.port) if parts.port else (f"[{host}]" if ":" in host else host)
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.scheme}://{netloc}{parts.path}{query}"


async def measure(input: str | None, context: ExperimentContext) -> dict[str, Any]:
    if input is None:
        raise ValueError("dnscheck measures a resolver URL")
    url = _check_url(input, "input")
    section = context.section
    domain, reject_bogons = _domain(section), _reject_bogons(section)
    known = next((r.addrs for r in resolvers(section) if r.url == url), ()) if section.get("resolvers") else ()
    config = context.config
    started = datetime.now(UTC)
    t0 = time.monotonic()
    measurement = new_measurement(TEST_NAME, TEST_VERSION, url, context, started)
    parts = urlsplit(url)
    host = parts.hostname or ""

    bootstrap: dict[str, Any] | None = None
    bootstrap_failure: str | None = None
    addrs: list[str] = []
    if is_ip_literal(host):
        addrs = [host]
    else:
        found = await lookup(host, config, t0)
        bootstrap = _urlgetter_keys(agent="", queries=found.queries)
        bootstrap["network_events"] = None
        if found.failure:
            bootstrap_failure = found.failure
        elif reject_bogons and any(is_bogon(a) for a in found.addrs):
            bootstrap_failure = failures.DNS_BOGON
        else:
            addrs = list(found.addrs)
    for addr in known:
        if addr not in addrs:
            addrs.append(addr)

    port = parts.port or (443 if parts.scheme == "https" else 853)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    targets = {resolver_url_for(url, addr): Server(addr, port, host, parts.netloc, path) for addr in addrs}
    results = await asyncio.gather(
        *(_lookup(parts.scheme, target, server, domain, reject_bogons, context, t0)
          for target, server in targets.items())
    )
    test_keys: dict[str, Any] = {
        "domain": domain,
        "x_default_addrs": " ".join(known),
        "x_residual": False,
        "bootstrap": bootstrap,
        "bootstrap_failure": bootstrap_failure,
        "lookups": dict(zip(targets, results, strict=True)),
    }
    return finish(measurement, test_keys, t0)


def _urlgetter_keys(agent: str = "redirect", queries: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """ts-027 urlgetter test keys, the shape of dnscheck's bootstrap and of each lookup."""
    return {"agent": agent, "failed_operation": None, "failure": None, "network_events": [],
            "queries": queries or [], "requests": None, "tcp_connect": None, "tls_handshakes": None}


async def _lookup(scheme: str, target: str, server: Server, domain: str, reject_bogons: bool,
                  context: ExperimentContext, t0: float) -> dict[str, Any]:
    config = context.config
    trace = Trace(t0)
    keys = _urlgetter_keys()

    async def exchange(query: bytes, server: Server) -> bytes:
        if scheme == "dot":
            return await dot_exchange(query, server, config, trace)
        return await doh_exchange(query, server, config, trace)

    engine = "dot" if scheme == "dot" else "doh"
    resolver_address = endpoint(server.ip, server.port) if scheme == "dot" else target
    trace.event("resolve_start")
    entries = await asyncio.gather(
        *(_query(exchange, server, domain, qtype, engine, resolver_address, reject_bogons, config.step_deadline(),
                 trace) for qtype in ("A", "AAAA"))
    )
    trace.event("resolve_done")
    keys["queries"] = [entry for entry, _ in entries]
    answered = any(entry["answers"] and not entry["failure"] for entry, _ in entries)
    if not answered:
        # probe-cli's LookupHost reports the A query's error first, as we do.
        failed = [(entry["failure"], operation) for entry, operation in entries if entry["failure"]]
        failure, operation = failed[0] if failed else (failures.DNS_NO_ANSWER, "resolve")
        keys["failure"], keys["failed_operation"] = failure, operation
    keys.update(network_events=trace.network_events, tcp_connect=trace.tcp_connect,
                tls_handshakes=trace.tls_handshakes, requests=trace.requests or None)
    return keys


async def _query(exchange: Exchange, server: Server, domain: str, qtype: str, engine: str, resolver_address: str,
                 reject_bogons: bool, deadline: float, trace: Trace) -> tuple[dict[str, Any], str | None]:
    """A df-002 entry and, when it failed, the failed operation."""
    entry: dict[str, Any] = {"engine": engine, "resolver_address": resolver_address, "resolver_hostname": None,
                             "resolver_port": None, "hostname": domain, "query_type": qtype, "answers": [],
                             "failure": None, "t0": trace.now()}
    operation: str | None = None
    query = dns.message.make_query(domain, qtype)
    query.id = 0  # RFC 8484 §4.1: DoH clients should use ID 0 for cache friendliness
    try:
        wire = await asyncio.wait_for(exchange(query.to_wire(), server), deadline)
        response = dns.message.from_wire(wire)
    except StepFailure as error:
        entry["failure"], operation = error.failure, error.operation
    except TimeoutError:
        entry["failure"], operation = failures.GENERIC_TIMEOUT, "resolve"
    except dns.exception.DNSException as error:
        entry["failure"], operation = failures.unknown(f"{type(error).__name__}: {error}"), "resolve"
    else:
        entry["answers"] = answer_rows(response)
        entry["failure"] = _response_failure(response, qtype, reject_bogons, entry["answers"])
        operation = "resolve" if entry["failure"] else None
    entry["t"] = trace.now()
    return entry, operation


def _response_failure(response: dns.message.Message, qtype: str, reject_bogons: bool,
                      answers: list[dict[str, Any]]) -> str | None:
    rcode = response.rcode()
    if rcode in _RCODE_FAILURES:
        return _RCODE_FAILURES[rcode]
    if rcode != dns.rcode.NOERROR:
        return failures.unknown(f"rcode {dns.rcode.to_text(rcode)}")
    addresses = [a.get("ipv4") or a.get("ipv6") for a in answers if a["answer_type"] == qtype]
    if not addresses:
        return failures.DNS_NO_ANSWER
    if reject_bogons and any(is_bogon(str(a)) for a in addresses):
        return failures.DNS_BOGON
    return None


