"""What the lab offers the scenarios of the probe's other tests (messengers, Tor, OpenVPN, DNS
over HTTPS/TLS, HTTP/3, throttling): each scenario module under `censorwatch.lab.scenarios`
exposes

    TEST_NAMES: tuple[str, ...]                      the probe tests its cases are for
    async def start(env: AppLabEnv) -> list[AppCase]

and runs inside the lab's event loop. It starts its servers on loopback (an address of its own
from `env.new_address()`, or the origin's), registers names in the lab's DNS zone, asks for
kernel rules it needs (`env.firewall_rules`; installed only when the lab runs iptables, so a
case that needs them says `needs_root`) and registers everything it must stop in `env.on_close`.
A case is judged like a web case: the probe measures it from the censored source with the
endpoints section the case gives, and the analysis must give the expected verdict."""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from censorwatch.lab.dns_server import Zone
from censorwatch.lab.origin import Handler
from censorwatch.lab.pki import Authority, server_context

# Scenario addresses come from 127.0.1.0/24 up; the web cases use 127.0.0.x.
FIRST_SCENARIO_ADDRESS = ipaddress.IPv4Address("127.0.1.1")


@dataclass(frozen=True)
class FirewallRule:
    """One iptables rule on the censored source's packets to destination:port."""

    protocol: Literal["tcp", "udp"]
    destination: str
    port: int
    action: Literal["drop", "reject-rst", "reject"]  # reject: ICMP port unreachable (UDP)


@dataclass(frozen=True)
class AppCase:
    name: str
    test_name: str
    section: dict[str, Any]  # the endpoints section the probe is given for this case
    expected_verdict: str
    expected_blocking: str | None
    needs_root: bool
    description: str
    inputs: tuple[str, ...] = ()  # URL inputs, for the tests that take URLs (http3, throttling)


@dataclass
class AppLabEnv:
    workdir: Path
    censored_source: str
    origin_ip: str
    zone: Zone  # zone.honest[name] = ip for everyone; zone.censored[name] = ip or NXDOMAIN for the censored source
    authority: Authority  # the lab CA the probe trusts (--ca-file)
    ca_file: Path
    iptables: bool  # True when firewall_rules will be installed
    listen: Callable[[str, int, Handler], int]  # a TCP server that knows the censored source (origin.LabListener)
    firewall_rules: list[FirewallRule] = field(default_factory=list)
    on_close: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    _next_address: int = int(FIRST_SCENARIO_ADDRESS)

    def new_address(self) -> str:
        """A loopback address no other server of the lab uses."""
        address = str(ipaddress.IPv4Address(self._next_address))
        self._next_address += 1
        return address

    def server_context(self, names: list[str], stem: str, alpn: tuple[str, ...] = ("http/1.1",)) -> ssl.SSLContext:
        """A TLS server context with a certificate for `names` from the trusted lab CA."""
        context = server_context(self.authority, names, self.workdir, stem)
        context.set_alpn_protocols(list(alpn))
        return context
