"""The probe's DNS step (df-002 dnst): A and AAAA for a host through the chosen resolver, sent
from --source-address so a measurement through one interface stays on it."""

from __future__ import annotations

import asyncio
import ipaddress
import time
from dataclasses import dataclass, field
from typing import Any

import dns.asyncquery
import dns.exception
import dns.message
import dns.rcode
import dns.rdatatype
import dns.resolver

from censorwatch.model import failures
from censorwatch.probe.config import ProbeConfig


@dataclass
class DnsLookup:
    queries: list[dict[str, Any]] = field(default_factory=list)
    addrs: list[str] = field(default_factory=list)
    failure: str | None = None
    resolver_address: str = ""


def system_resolver() -> tuple[str, int]:
    """The first nameserver of /etc/resolv.conf: the user's own network's resolver."""
    try:
        nameservers = dns.resolver.Resolver().nameservers
    except dns.resolver.NoResolverConfiguration as error:
        raise OSError("no system resolver configured; pass --resolver HOST:PORT") from error
    return str(nameservers[0]), 53


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


_RCODE_FAILURES = {
    dns.rcode.NXDOMAIN: failures.DNS_NXDOMAIN,
    dns.rcode.REFUSED: failures.DNS_REFUSED,
    dns.rcode.SERVFAIL: failures.DNS_SERVER_MISBEHAVING,
}


async def _exchange(query: dns.message.Message, server: tuple[str, int], config: ProbeConfig) -> dns.message.Message:
    response = await dns.asyncquery.udp(
        query, server[0], timeout=config.timeout, port=server[1], source=config.source_address
    )
    if response.flags & dns.flags.TC:
        response = await dns.asyncquery.tcp(
            query, server[0], timeout=config.timeout, port=server[1], source=config.source_address
        )
    return response


def answer_rows(response: dns.message.Message) -> list[dict[str, Any]]:
    """df-002's `answers` of a response: A, AAAA and CNAME records."""
    rows: list[dict[str, Any]] = []
    for rrset in response.answer:
        for item in rrset:
            if item.rdtype == dns.rdatatype.A:
                rows.append({"answer_type": "A", "ipv4": item.to_text(), "ttl": rrset.ttl})
            elif item.rdtype == dns.rdatatype.AAAA:
                rows.append({"answer_type": "AAAA", "ipv6": item.to_text(), "ttl": rrset.ttl})
            elif item.rdtype == dns.rdatatype.CNAME:
                rows.append({"answer_type": "CNAME", "hostname": item.to_text().rstrip("."), "ttl": rrset.ttl})
    return rows


async def _query(host: str, qtype: str, server: tuple[str, int], config: ProbeConfig, t0: float) -> dict[str, Any]:
    started = time.monotonic()
    entry: dict[str, Any] = {
        "engine": "udp",
        "resolver_address": f"{server[0]}:{server[1]}",
        "hostname": host,
        "query_type": qtype,
        "answers": [],
        "failure": None,
        "t0": round(started - t0, 6),
    }
    try:
        response = await _exchange(dns.message.make_query(host, qtype), server, config)
    except dns.exception.Timeout:
        entry["failure"] = failures.GENERIC_TIMEOUT
    except (OSError, dns.exception.DNSException) as error:
        entry["failure"] = failures.unknown(f"{type(error).__name__}: {error}")
    else:
        rcode = response.rcode()
        if rcode in _RCODE_FAILURES:
            entry["failure"] = _RCODE_FAILURES[rcode]
        elif rcode != dns.rcode.NOERROR:
            entry["failure"] = failures.unknown(f"rcode {dns.rcode.to_text(rcode)}")
        else:
            entry["answers"] = answer_rows(response)
            if not any(a["answer_type"] == qtype for a in entry["answers"]):
                entry["failure"] = failures.DNS_NO_ANSWER
    entry["t"] = round(time.monotonic() - t0, 6)
    return entry


async def lookup(host: str, config: ProbeConfig, t0: float) -> DnsLookup:
    if is_ip_literal(host):
        return DnsLookup(addrs=[host.strip("[]")])
    server = config.resolver or system_resolver()
    queries = list(await asyncio.gather(*(_query(host, qtype, server, config, t0) for qtype in ("A", "AAAA"))))
    addrs: list[str] = []
    for query in queries:
        for answer in query["answers"]:
            address = answer.get("ipv4") or answer.get("ipv6")
            if address and address not in addrs:
                addrs.append(address)
    failure = None
    if not addrs:
        found = [q["failure"] for q in queries if q["failure"]]
        # NXDOMAIN on either family decides; an empty AAAA alone is normal.
        failure = failures.DNS_NXDOMAIN if failures.DNS_NXDOMAIN in found else (found[0] if found else None)
        failure = failure or failures.DNS_NO_ANSWER
    return DnsLookup(queries=queries, addrs=addrs, failure=failure, resolver_address=f"{server[0]}:{server[1]}")
