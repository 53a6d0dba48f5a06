"""Facebook Messenger (ooni/spec nettests/ts-019-facebook-messenger.md, probe-cli test_version 0.2.0):
resolve each of Messenger's service hosts; the answer is consistent when every address lies in
Facebook's network (AS32934); then a TCP connect to 443 (the addresses in turn until one answers),
except for the STUN host, which is only looked up. Keys as probe-cli writes them:
facebook_<service>_dns_consistent / _reachable, facebook_dns_blocking, facebook_tcp_blocking.

Whose network an address is in: the section's `networks` (CIDRs) when it lists them (a lab, or a
user who knows better than a stale database), else censorwatch's geoip database
(probe/geoip_db.py) when installed, whose ASN is also written into each answer as probe-cli does.
With neither, consistency is unknown (null), never guessed."""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

from censorwatch.probe.config import ProbeConfig
from censorwatch.probe.dns_lookup import lookup
from censorwatch.probe.endpoints import measure_endpoint
from censorwatch.probe.endpoints_file import EndpointsError
from censorwatch.probe.experiment import ExperimentContext, finish, new_measurement
from censorwatch.probe.geoip_db import GeoipDb, GeoipError, default_db_path

TEST_NAME = "facebook_messenger"
TEST_VERSION = "0.2.0"
TAKES_URLS = False
FACEBOOK_ASN: Final = 32934
# probe-cli's service names, in its order; they name the test keys.
SERVICES: Final = ("stun", "b_api", "b_graph", "edge", "external_cdn", "scontent_cdn", "star")
MAX_ADDRESSES = 4

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Service:
    name: str
    hostname: str
    port: int | None  # None: DNS only (stun)


@dataclass(frozen=True)
class FacebookSection:
    asn: int
    networks: tuple[Network, ...]
    services: tuple[Service, ...]


def parse_section(section: Mapping[str, Any]) -> FacebookSection:
    asn = section.get("asn", FACEBOOK_ASN)
    if not isinstance(asn, int) or isinstance(asn, bool) or asn <= 0:
        raise EndpointsError(f"facebook_messenger: asn must be a positive AS number, not {asn!r}")
    raw_networks = section.get("networks") or []
    if not isinstance(raw_networks, list):
        raise EndpointsError("facebook_messenger: networks must be a list of CIDRs")
    networks: list[Network] = []
    for cidr in raw_networks:
        try:
            networks.append(ipaddress.ip_network(str(cidr), strict=False))
        except ValueError as error:
            raise EndpointsError(f"facebook_messenger: networks: {cidr!r} is not a CIDR ({error})") from error
    raw_services = section.get("services")
    if not isinstance(raw_services, Mapping) or not raw_services:
        raise EndpointsError(f"facebook_messenger: services must map service names ({', '.join(SERVICES)}) "
                             "to {hostname, port}")
    services = [_service(str(name), body) for name, body in raw_services.items()]
    return FacebookSection(asn, tuple(networks), tuple(sorted(services, key=lambda s: SERVICES.index(s.name))))


def _service(name: str, body: object) -> Service:
    where = f"facebook_messenger: services: {name}"
    if name not in SERVICES:
        raise EndpointsError(f"{where}: unknown service (known: {', '.join(SERVICES)})")
    if not isinstance(body, Mapping) or not isinstance(body.get("hostname"), str) or not body["hostname"]:
        raise EndpointsError(f"{where}: needs a hostname")
    port = body.get("port")
    if port is not None and (not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536):
        raise EndpointsError(f"{where}: port must be 1-65535, not {port!r}")
    if name == "stun" and port is not None:
        raise EndpointsError(f"{where}: stun is only looked up (probe-cli makes no connection to it): no port")
    return Service(name, body["hostname"], port)


def inputs(section: Mapping[str, Any]) -> list[str | None]:
    """One input-less measurement; the section is checked here so a bad file fails before any traffic."""
    parse_section(section)
    return [None]


def deadline(context: ExperimentContext) -> float:
    return context.config.timeout * (MAX_ADDRESSES + 2) + 10


@lru_cache(maxsize=2)
def _geoip(path: Path) -> GeoipDb | None:
    try:
        return GeoipDb(path) if path.exists() else None
    except GeoipError:
        return None


class Ownership:
    """Is an address Facebook's? True, False, or None when nothing can tell."""

    def __init__(self, section: FacebookSection, db: GeoipDb | None) -> None:
        self.section = section
        self.db = None if section.networks else db

    def annotate(self, answer: dict[str, Any]) -> bool | None:
        """Whether the answer's address is Facebook's; adds asn/as_org_name when the database told."""
        text = answer.get("ipv4") or answer.get("ipv6")
        if not text:
            return True  # a CNAME step says nothing about where the traffic goes
        address = ipaddress.ip_address(text)
        if self.section.networks:
            return any(address in network for network in self.section.networks)
        if self.db is None:
            return None
        network = self.db.lookup(address)
        asn = int(network.probe_asn[2:]) if network else 0
        answer["asn"] = asn  # probe-cli writes 0 for an address no database knows
        answer["as_org_name"] = (network.network_name or "") if network else ""
        return asn == self.section.asn


@dataclass
class _Result:
    service: Service
    queries: list[dict[str, Any]]
    tcp_connect: list[dict[str, Any]]
    consistent: bool | None
    reachable: bool | None
    dns_failed: bool


async def _measure_service(service: Service, owner: Ownership, config: ProbeConfig, t0: float) -> _Result:
    dns = await lookup(service.hostname, config, t0)
    if dns.failure:
        return _Result(service, dns.queries, [], False, None, True)
    verdicts = [owner.annotate(answer) for query in dns.queries for answer in query["answers"]]
    consistent = False if False in verdicts else None if None in verdicts else True
    tcp: list[dict[str, Any]] = []
    if service.port is not None:
        for ip in dns.addrs[:MAX_ADDRESSES]:
            entry, _ = await measure_endpoint(ip, service.port, None, config, t0)
            tcp.append(entry)
            if entry["status"]["success"]:
                break
    connected = any(entry["status"]["success"] for entry in tcp) if tcp else None
    # As probe-cli: reachability is only judged for an answer that is Facebook's (or not known not to be).
    reachable = connected if consistent is not False else None
    return _Result(service, dns.queries, tcp, consistent, reachable, False)


def _blocking(values: list[bool | None]) -> bool | None:
    return True if True in values else None if None in values else False


async def measure(input: str | None, context: ExperimentContext) -> dict[str, Any]:
    t0 = time.monotonic()
    measurement = new_measurement(TEST_NAME, TEST_VERSION, input, context)
    section = parse_section(context.section)
    owner = Ownership(section, None if section.networks else _geoip(default_db_path()))
    results = await asyncio.gather(*(_measure_service(s, owner, context.config, t0) for s in section.services))
    test_keys: dict[str, Any] = {
        "agent": "redirect",
        "failed_operation": None,
        "failure": None,
        "queries": [q for result in results for q in result.queries],
        "requests": [],
        "tcp_connect": [c for result in results for c in result.tcp_connect],
        "tls_handshakes": [],
    }
    for name in SERVICES:
        test_keys[f"facebook_{name}_dns_consistent"] = None
        test_keys[f"facebook_{name}_reachable"] = None
    for result in results:
        test_keys[f"facebook_{result.service.name}_dns_consistent"] = result.consistent
        test_keys[f"facebook_{result.service.name}_reachable"] = result.reachable
    test_keys["facebook_dns_blocking"] = _blocking(
        [None if r.consistent is None else not r.consistent for r in results])
    connects = [r for r in results if r.service.port is not None and r.consistent is not False and not r.dns_failed]
    test_keys["facebook_tcp_blocking"] = _blocking(
        [None if r.reachable is None else not r.reachable for r in connects])
    return finish(measurement, test_keys, t0)
