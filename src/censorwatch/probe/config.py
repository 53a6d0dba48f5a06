"""What one probe run needs to know; built by the CLI, read by every step."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import certifi

import censorwatch
from censorwatch.model.measurement import WITHHELD_ASN, WITHHELD_CC
from censorwatch.probe.geoip_db import Network, default_db_path

USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"
)


def parse_host_port(text: str, default_port: int) -> tuple[str, int]:
    """"HOST:PORT", "[v6]:PORT" or a bare host."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, int(rest.lstrip(":")) if rest.lstrip(":") else default_port
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, int(port)
    return text, default_port


@dataclass(frozen=True)
class ProbeConfig:
    resolver: tuple[str, int] | None = None
    test_helper: str | None = None  # one control (the lab, tests); `test_helpers` lists several
    test_helpers: tuple[str, ...] = ()
    ca_file: Path | None = None
    source_address: str | None = None
    timeout: float = 10.0
    probe_cc: str = WITHHELD_CC
    probe_asn: str = WITHHELD_ASN
    probe_network_name: str | None = None
    body_cap: int = 1 << 20
    max_redirects: int = 10
    user_agent: str = USER_AGENT
    software_name: str = "censorwatch"
    software_version: str = censorwatch.__version__
    extra: dict[str, str] = field(default_factory=dict)

    @cached_property
    def tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=certifi.where())
        if self.ca_file is not None:
            context.load_verify_locations(cafile=str(self.ca_file))
        return context

    @cached_property
    def resolver_network(self) -> Network | None:
        """resolver_asn / resolver_network_name (df-000) of the resolver this run queries, looked up once in the
        local geoip database when the resolver's address is public. Only when the probe's own network is
        recorded: with it withheld (--no-geolocate, no database, no STUN answer) the ISP's resolver would name
        the ISP that was withheld."""
        if self.probe_asn == WITHHELD_ASN:
            return None
        from censorwatch.probe.geolocation import resolver_network  # geolocation imports this module

        return resolver_network(self.resolver, default_db_path())

    @property
    def controls(self) -> tuple[str, ...]:
        """The test helpers to ask, in order of preference."""
        if self.test_helpers:
            return self.test_helpers
        return (self.test_helper,) if self.test_helper else ()

    @property
    def local_addr(self) -> tuple[str, int] | None:
        return (self.source_address, 0) if self.source_address else None

    def step_deadline(self) -> float:
        """A whole HTTP exchange may take a few timeouts (connect, TLS, headers, body)."""
        return self.timeout * 3
