"""Where the probe stands: country, ASN and network name, without keeping its address.

OONI Probe's order (probe-cli geolocate): learn the public address (STUN among its methods),
look it up in a local ASN/country database, then scrub the address from every measurement
(probe_ip "127.0.0.1", df-000). Here the address never leaves this module: `locate` returns
only the network; nothing logs, prints or stores the address, and errors never carry it.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from censorwatch.probe.config import parse_host_port
from censorwatch.probe.dns_lookup import system_resolver
from censorwatch.probe.geoip_db import GeoipDb, GeoipError, Network
from censorwatch.probe.stun import StunError, public_address

STUN_PORT = 3478  # RFC 5389 §18.4


@dataclass(frozen=True)
class Located:
    network: Network | None
    problem: str | None  # why no network was found (never names the address)


async def locate(db_path: Path, stun_servers: Sequence[str], timeout: float = 3.0,
                 source_address: str | None = None) -> Located:
    """Country and network of this probe's public address, found through the STUN servers in
    order (the next one when a server fails)."""
    try:
        db = GeoipDb(db_path)
    except GeoipError as error:
        return Located(None, str(error))
    problems: list[str] = []
    for server in stun_servers:
        try:
            host, port = parse_host_port(server, STUN_PORT)
            network = db.lookup(await public_address(host, port, timeout, source_address))
        except (StunError, ValueError) as error:
            problems.append(f"{server}: {error}")
            continue
        if network is None:
            return Located(None, "the public address is in no range of the geoip database")
        return Located(network, None)
    return Located(None, "no STUN server answered (" + "; ".join(problems) + ")")


def locate_sync(db_path: Path, stun_servers: Sequence[str], timeout: float = 3.0,
                source_address: str | None = None) -> Located:
    return asyncio.run(locate(db_path, stun_servers, timeout, source_address))


def resolver_network(resolver: tuple[str, int] | None, db_path: Path) -> Network | None:
    """The network of the resolver the probe sends its queries to (`resolver`, else the system's),
    from the local database, when that address is public. A loopback or private resolver (a
    stub, a home router) has no network of its own to name: None, and the measurement keeps
    resolver_asn "AS0". Only the network is returned; the resolver's address is not recorded."""
    try:
        address = ipaddress.ip_address((resolver or system_resolver())[0].strip("[]"))
    except (OSError, ValueError):
        return None
    if not address.is_global:
        return None
    try:
        return GeoipDb(db_path).lookup(address)
    except GeoipError:
        return None
