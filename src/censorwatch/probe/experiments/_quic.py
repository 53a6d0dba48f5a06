"""A QUIC handshake (df-006 `quic_handshakes` entry) and one HTTP/3 GET (df-001 request) with
aioquic, from the probe's --source-address: aioquic's own `connect` binds the wildcard address,
so the UDP socket is made here. Certificates are verified against certifi's roots plus the
--ca-file, as the TCP path's config.tls_context does."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import certifi
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.h3.connection import H3Connection
from aioquic.h3.events import DataReceived, H3Event, HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.connection import QuicConnection
from aioquic.quic.events import ConnectionTerminated, HandshakeCompleted, ProtocolNegotiated, QuicEvent
from aioquic.quic.packet import QuicErrorCode
from cryptography.hazmat.primitives.serialization import Encoding

from censorwatch.model import failures
from censorwatch.model.failure_map import failure_of
from censorwatch.probe.config import ProbeConfig
from censorwatch.probe.endpoints import endpoint
from censorwatch.probe.http_fetch import encode_body

CRYPTO_ERROR = 0x100  # RFC 9001 §4.8: CRYPTO_ERROR is 0x100 + the TLS alert
_CERTIFICATE_ALERTS = frozenset({42, 43, 44, 45, 46, 48})  # bad/unsupported/revoked/expired/unknown cert, unknown CA


Clock = Callable[[], float]


@dataclass
class _Response:
    done: asyncio.Future[None]
    status: int = 0
    headers: list[list[str]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)
    truncated: bool = False


class _Client(QuicConnectionProtocol):
    def __init__(self, quic: QuicConnection, body_cap: int) -> None:
        super().__init__(quic)
        self.h3: H3Connection | None = None
        self.terminated: ConnectionTerminated | None = None
        self.responses: dict[int, _Response] = {}
        self.body_cap = body_cap
        # Our own waiter rather than wait_connected(): aioquic's is left with an exception nobody
        # retrieves when the handshake times out and the connection is closed afterwards.
        self.handshake_done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def quic_event_received(self, event: QuicEvent) -> None:
        if isinstance(event, ProtocolNegotiated) and event.alpn_protocol == "h3":
            self.h3 = H3Connection(self._quic)
        if isinstance(event, HandshakeCompleted) and not self.handshake_done.done():
            self.handshake_done.set_result(None)
        if isinstance(event, ConnectionTerminated):
            self.terminated = event
            waiters = [self.handshake_done, *(response.done for response in self.responses.values())]
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(ConnectionError(event.reason_phrase))
        if self.h3 is not None:
            for h3_event in self.h3.handle_event(event):
                self._h3_event(h3_event)

    def _h3_event(self, event: H3Event) -> None:
        response = self.responses.get(getattr(event, "stream_id", -1))
        if response is None or response.done.done():
            return
        if isinstance(event, HeadersReceived):
            for name, value in event.headers:
                key, text = name.decode("latin-1"), value.decode("latin-1")
                if key == ":status":
                    response.status = int(text) if text.isdigit() else 0
                else:
                    response.headers.append([key, text])
        elif isinstance(event, DataReceived):
            room = self.body_cap - len(response.body)
            response.body += event.data[:room]
            if len(event.data) > room:
                response.truncated = True
                response.done.set_result(None)
                return
        if getattr(event, "stream_ended", False):
            response.done.set_result(None)


def quic_configuration(config: ProbeConfig, server_name: str, alpn: list[str]) -> QuicConfiguration:
    configuration = QuicConfiguration(is_client=True, alpn_protocols=alpn, server_name=server_name,
                                      verify_mode=ssl.CERT_REQUIRED, idle_timeout=max(config.timeout * 3, 5.0))
    # aioquic loads certifi's roots only when no CA is given: give both, like config.tls_context.
    configuration.cafile = certifi.where()
    if config.ca_file is not None:
        configuration.cadata = config.ca_file.read_bytes()
    return configuration


def handshake_failure(event: ConnectionTerminated | None) -> str:
    """The OONI failure of a QUIC connection closed during the handshake."""
    if event is None:
        return failures.EOF_ERROR
    code, reason = event.error_code, event.reason_phrase.lower()
    if CRYPTO_ERROR <= code < CRYPTO_ERROR + 0x100:
        if "doesn't match" in reason or "hostname" in reason:
            return failures.SSL_INVALID_HOSTNAME
        if "issuer" in reason or "self-signed" in reason or "self signed" in reason or code - CRYPTO_ERROR == 48:
            return failures.SSL_UNKNOWN_AUTHORITY
        if code - CRYPTO_ERROR in _CERTIFICATE_ALERTS:
            return failures.SSL_INVALID_CERTIFICATE
        return failures.SSL_FAILED_HANDSHAKE
    if code == QuicErrorCode.CONNECTION_REFUSED:
        return failures.CONNECTION_REFUSED
    return failures.unknown(f"quic error {code:#x}: {event.reason_phrase}")


def _udp_socket(ip: str, config: ProbeConfig) -> socket.socket:
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.bind((config.source_address or ("::" if family == socket.AF_INET6 else "0.0.0.0"), 0))
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def _handshake_entry(ip: str, port: int, server_name: str, t0: float) -> dict[str, Any]:
    return {"network": "udp", "address": endpoint(ip, port), "server_name": server_name, "failure": None,
            "no_tls_verify": False, "cipher_suite": "", "negotiated_protocol": "", "tls_version": "",
            "peer_certificates": [], "t0": t0}


def _tls_facts(quic: QuicConnection) -> dict[str, Any]:
    context = quic.tls
    schedule = context.key_schedule
    peer = getattr(context, "_peer_certificate", None)  # aioquic keeps the chain private; None if it moves
    chain = [peer, *getattr(context, "_peer_certificate_chain", [])] if peer is not None else []
    return {
        "tls_version": "TLSv1.3",  # QUIC is TLS 1.3 only (RFC 9001 §4.2)
        "cipher_suite": f"TLS_{schedule.cipher_suite.name}" if schedule is not None else "",
        "negotiated_protocol": context.alpn_negotiated or "",
        "peer_certificates": [{"format": "base64", "data": base64.b64encode(cert.public_bytes(Encoding.DER)).decode()}
                              for cert in chain],
    }


@dataclass
class QuicResult:
    handshake: dict[str, Any]
    request: dict[str, Any] | None = None
    failure: str | None = None
    failed_operation: str | None = None


async def http3_get(ip: str, port: int, url: str, server_name: str, authority: str, path: str,
                    config: ProbeConfig, alpn: list[str], t0: float) -> QuicResult:
    """Handshake with `ip`:`port`, then GET `path`; never raises for what the network does."""

    def now() -> float:
        return round(time.monotonic() - t0, 6)

    result = QuicResult(_handshake_entry(ip, port, server_name, now()))
    loop = asyncio.get_running_loop()
    try:
        sock = _udp_socket(ip, config)
    except OSError as error:
        result.failure, result.failed_operation = failure_of(error), "quic_handshake"
        result.handshake.update(failure=result.failure, t=now())
        return result
    connection = QuicConnection(configuration=quic_configuration(config, server_name, alpn))
    transport, protocol = await loop.create_datagram_endpoint(lambda: _Client(connection, config.body_cap),
                                                                  sock=sock)
    try:
        await _handshake(protocol, ip, port, config, result, now)
        if result.failure is None:
            await _get(protocol, url, authority, path, config, result, now)
    finally:
        connected = protocol.handshake_done.done() and not protocol.handshake_done.cancelled() \
            and protocol.handshake_done.exception() is None
        for waiter in (protocol.handshake_done, *(r.done for r in protocol.responses.values())):
            waiter.cancel()  # nobody waits any longer; a late ConnectionTerminated must not set them
        protocol.close()
        if connected:
            # Let the CONNECTION_CLOSE go out; after a failed handshake there is no peer to tell.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(protocol.wait_closed(), 1.0)
        transport.close()
    return result


async def _handshake(protocol: _Client, ip: str, port: int, config: ProbeConfig, result: QuicResult,
                     now: Clock) -> None:
    try:
        protocol.connect((ip, port))
        await asyncio.wait_for(protocol.handshake_done, config.timeout)
    except TimeoutError:
        result.failure = failures.GENERIC_TIMEOUT
    except ConnectionError:
        result.failure = handshake_failure(protocol.terminated)
    except OSError as error:
        result.failure = failure_of(error)
    if result.failure is not None:
        result.failed_operation = "quic_handshake"
        result.handshake.update(failure=result.failure, t=now())
        return
    result.handshake.update(_tls_facts(protocol._quic), t=now())
    if protocol.h3 is None:
        # The server chose no ALPN we offered: QUIC works, HTTP/3 was not agreed.
        result.failure, result.failed_operation = failures.SSL_FAILED_HANDSHAKE, "quic_handshake"
        result.handshake["failure"] = result.failure


async def _get(protocol: _Client, url: str, authority: str, path: str, config: ProbeConfig, result: QuicResult,
               now: Clock) -> None:
    assert protocol.h3 is not None
    headers = [(":method", "GET"), (":scheme", "https"), (":authority", authority), (":path", path),
               ("user-agent", config.user_agent), ("accept", "*/*")]
    entry: dict[str, Any] = {
        "network": "udp", "address": result.handshake["address"], "alpn": "h3", "failure": None,
        "request": {"url": url, "method": "GET", "headers": {k: v for k, v in headers if not k.startswith(":")},
                    "headers_list": [[k, v] for k, v in headers if not k.startswith(":")], "body": "",
                    "body_is_truncated": False, "tor": {"is_tor": False}, "x_transport": "udp"},
        "response": None, "t0": now(),
    }
    result.request = entry
    quic = protocol._quic
    stream_id = quic.get_next_available_stream_id()
    response = _Response(asyncio.get_running_loop().create_future())
    protocol.responses[stream_id] = response
    protocol.h3.send_headers(stream_id, [(k.encode(), v.encode()) for k, v in headers], end_stream=True)
    protocol.transmit()
    try:
        await asyncio.wait_for(response.done, config.step_deadline())
    except TimeoutError:
        entry["failure"] = failures.GENERIC_TIMEOUT
    except ConnectionError:
        entry["failure"] = failures.CONNECTION_RESET if protocol.terminated is None else failures.unknown(
            f"quic error {protocol.terminated.error_code:#x}: {protocol.terminated.reason_phrase}")
    entry["t"] = now()
    if entry["failure"] is not None:
        result.failure, result.failed_operation = entry["failure"], "http_round_trip"
        return
    header_map: dict[str, str] = {}
    for name, value in response.headers:
        header_map.setdefault(name, value)
    entry["response"] = {"code": response.status, "headers": header_map, "headers_list": response.headers,
                         "body": encode_body(bytes(response.body)), "body_is_truncated": response.truncated}
