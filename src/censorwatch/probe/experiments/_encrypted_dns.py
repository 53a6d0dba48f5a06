"""DNS over TLS (RFC 7858) and DNS over HTTPS (RFC 8484) exchanges for dnscheck, traced the way
probe-cli's urlgetter traces them: df-005 tcp_connect, df-006 tls_handshakes, df-008
network_events and, for DoH, df-001 requests. A failed step raises `StepFailure` with the OONI
failure string and the *major* operation that failed (connect, tls_handshake, http_round_trip,
resolve), as netxlite's error wrapper keeps it, because the analysis reads the layer from it."""

from __future__ import annotations

import asyncio
import base64
import ssl
import struct
import time
from dataclasses import dataclass, field
from typing import Any

import h11

from censorwatch.model import failures
from censorwatch.model.failure_map import failure_of
from censorwatch.probe.config import ProbeConfig
from censorwatch.probe.endpoints import close, endpoint, open_stream, start_tls, tls_details

NETWORK_ERRORS = (OSError, TimeoutError, ssl.SSLError, EOFError, asyncio.IncompleteReadError)
MAX_DNS_MESSAGE = 65535


class StepFailure(Exception):
    def __init__(self, failure: str, operation: str) -> None:
        super().__init__(f"{operation}: {failure}")
        self.failure = failure
        self.operation = operation


@dataclass
class Trace:
    t0: float
    network_events: list[dict[str, Any]] = field(default_factory=list)
    tcp_connect: list[dict[str, Any]] = field(default_factory=list)
    tls_handshakes: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def now(self) -> float:
        return round(time.monotonic() - self.t0, 6)

    def event(self, operation: str, failure: str | None = None, **extra: Any) -> None:
        self.network_events.append({"operation": operation, "failure": failure, **extra, "t": self.now()})


@dataclass(frozen=True)
class Server:
    """One encrypted resolver endpoint: where to connect, which name to present and verify."""

    ip: str
    port: int
    server_name: str
    http_host: str = ""  # DoH: the Host header (the URL's host[:port])
    path: str = "/dns-query"  # DoH: path and query of the URL


def _tls_entry(writer: asyncio.StreamWriter | None, address: str, server_name: str, t0: float) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "network": "tcp", "address": address, "server_name": server_name, "failure": None,
        "no_tls_verify": False, "cipher_suite": "", "negotiated_protocol": "", "tls_version": "",
        "peer_certificates": [], "t0": t0,
    }
    if writer is not None:
        entry.update(tls_details(writer))
    return entry


async def dial_tls(server: Server, config: ProbeConfig, trace: Trace) -> tuple[asyncio.StreamReader,
                                                                                asyncio.StreamWriter]:
    address = endpoint(server.ip, server.port)
    tcp: dict[str, Any] = {"ip": server.ip, "port": server.port,
                           "status": {"success": True, "failure": None, "blocked": None}}
    try:
        reader, writer = await open_stream(server.ip, server.port, config)
    except (OSError, TimeoutError) as error:
        failure = failure_of(error)
        tcp["status"].update(success=False, failure=failure)
        tcp["t"] = trace.now()
        trace.tcp_connect.append(tcp)
        trace.event("connect", failure, address=address, proto="tcp")
        raise StepFailure(failure, "connect") from error
    tcp["t"] = trace.now()
    trace.tcp_connect.append(tcp)
    trace.event("connect", None, address=address, proto="tcp")
    started = trace.now()
    trace.event("tls_handshake_start", None, address=address)
    try:
        await start_tls(writer, server.server_name, config)
    except NETWORK_ERRORS as error:
        writer.transport.abort()
        failure = failure_of(error)
        entry = _tls_entry(None, address, server.server_name, started)
        entry.update(failure=failure, t=trace.now())
        trace.tls_handshakes.append(entry)
        trace.event("tls_handshake_done", failure, address=address)
        raise StepFailure(failure, "tls_handshake") from error
    entry = _tls_entry(writer, address, server.server_name, started)
    entry["t"] = trace.now()
    trace.tls_handshakes.append(entry)
    trace.event("tls_handshake_done", None, address=address)
    return reader, writer


async def dot_exchange(query: bytes, server: Server, config: ProbeConfig, trace: Trace) -> bytes:
    """One query on its own TLS connection (as probe-cli's DoT transport does), length-prefixed."""
    reader, writer = await dial_tls(server, config, trace)
    try:
        writer.write(struct.pack("!H", len(query)) + query)
        await asyncio.wait_for(writer.drain(), config.timeout)
        (length,) = struct.unpack("!H", await asyncio.wait_for(reader.readexactly(2), config.timeout))
        return await asyncio.wait_for(reader.readexactly(length), config.timeout)
    except NETWORK_ERRORS as error:
        # A read or write is a minor operation: netxlite reports the enclosing lookup.
        raise StepFailure(failure_of(error), "resolve") from error
    finally:
        writer.transport.abort()
        await close(writer)


async def doh_exchange(query: bytes, server: Server, config: ProbeConfig, trace: Trace) -> bytes:
    """POST application/dns-message over HTTP/1.1 (probe-cli's DoH transport uses POST too)."""
    url = f"https://{endpoint(server.ip, server.port) if server.port != 443 else server.ip}{server.path}"
    headers = [("Host", server.http_host), ("User-Agent", config.user_agent),
               ("Content-Type", "application/dns-message"), ("Accept", "application/dns-message"),
               ("Content-Length", str(len(query))), ("Connection", "close")]
    entry: dict[str, Any] = {
        "network": "tcp", "address": endpoint(server.ip, server.port), "alpn": "http/1.1",
        "request": {"url": url, "method": "POST", "headers": dict(headers),
                    "body": {"format": "base64", "data": base64.b64encode(query).decode()},
                    "body_is_truncated": False, "tor": {"is_tor": False}, "x_transport": "tcp"},
        "response": None, "failure": None, "t0": trace.now(),
    }
    trace.requests.insert(0, entry)  # OONI lists the newest request first
    try:
        reader, writer = await dial_tls(server, config, trace)
    except StepFailure as error:
        entry.update(failure=error.failure, t=trace.now())
        raise
    try:
        status, body = await _post(reader, writer, server.path, headers, query, config)
    except (h11.ProtocolError, *NETWORK_ERRORS) as error:
        failure = failures.HTTP_INVALID_RESPONSE if isinstance(error, h11.ProtocolError) else failure_of(error)
        entry.update(failure=failure, t=trace.now())
        raise StepFailure(failure, "http_round_trip") from error
    finally:
        writer.transport.abort()
        await close(writer)
    entry.update(t=trace.now(), response={
        "code": status, "headers": {}, "headers_list": [],
        "body": {"format": "base64", "data": base64.b64encode(body).decode()}, "body_is_truncated": False,
    })
    if status != 200:
        raise StepFailure(failures.DNS_SERVER_MISBEHAVING, "resolve")
    return body


async def _post(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str,
                headers: list[tuple[str, str]], body: bytes, config: ProbeConfig) -> tuple[int, bytes]:
    conn = h11.Connection(h11.CLIENT)
    writer.write(conn.send(h11.Request(method="POST", target=path, headers=headers)) or b"")
    writer.write(conn.send(h11.Data(data=body)) or b"")
    writer.write(conn.send(h11.EndOfMessage()) or b"")
    await asyncio.wait_for(writer.drain(), config.timeout)
    status = 0
    received = bytearray()
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            data = await asyncio.wait_for(reader.read(64 * 1024), config.timeout)
            conn.receive_data(data)
            continue
        if isinstance(event, h11.Response):
            status = event.status_code
        elif isinstance(event, h11.Data):
            received += event.data
            if len(received) > MAX_DNS_MESSAGE:
                raise h11.RemoteProtocolError("DoH answer larger than a DNS message")
        elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
            if not status:
                raise EOFError("no HTTP response")
            return status, bytes(received)
