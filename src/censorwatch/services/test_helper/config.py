"""Bounds and network settings of the test helper."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import certifi

# oohelperd reads at most 16 MiB of the body (internal/oohelperd/http.go, maxBodySize).
BODY_LIMIT = 1 << 24


def parse_hostport(text: str, what: str) -> tuple[str, int]:
    """HOST:PORT or [v6]:PORT; ValueError with a clear message otherwise."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{what} expects HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


@dataclass(frozen=True)
class HelperConfig:
    resolver: tuple[str, int] | None = None  # None: the system resolver (/etc/resolv.conf)
    ca_file: Path | None = None
    dns_timeout: float = 4.0  # oohelperd dns.go uses 4 s
    connect_timeout: float = 10.0  # oohelperd tcptls.go uses 15 s for connect + handshake together
    tls_timeout: float = 10.0
    http_timeout: float = 15.0  # the whole GET, redirects and body included
    max_redirects: int = 10
    body_limit: int = BODY_LIMIT
    max_request_bytes: int = 64 * 1024  # the JSON control request itself
    max_endpoints: int = 64  # tcp_connect entries accepted in one request
    max_concurrent: int = 32  # control measurements in flight; the rest wait their turn
    max_connections: int = 256  # open client connections; beyond this new ones are closed at once
    loopback_only: bool = False  # the lab's helper: never connect outside 127.0.0.0/8 and ::1
    client_timeout: float = 30.0  # a client must send its whole request within this (slow clients are dropped)
    user_agent: str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"

    def ssl_context(self) -> ssl.SSLContext:
        """Verifying client context: certifi's roots plus the extra CA (the lab's test CA)."""
        context = ssl.create_default_context(cafile=certifi.where())
        if self.ca_file is not None:
            context.load_verify_locations(cafile=str(self.ca_file))
        context.set_alpn_protocols(["http/1.1"])
        return context
