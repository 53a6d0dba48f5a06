"""http3 cases: an aioquic HTTP/3 server on a loopback UDP port and a TLS HTTP/1.1 server on the
same port number over TCP, both certified by the lab CA. The censor drops the censored source's
UDP in user space (the QUIC server ignores its datagrams) or in the kernel (iptables, root),
drops only QUIC Initials naming a blocked server (it decrypts the Initial, as a Russian mobile
network's box did in 2022), or blocks both transports."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from aioquic._buffer import Buffer  # aioquic.buffer re-exports it implicitly, which mypy refuses
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.asyncio.server import QuicServer
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.connection import NetworkAddress
from aioquic.quic.crypto import CryptoPair
from aioquic.quic.events import ProtocolNegotiated, QuicEvent
from aioquic.quic.packet import QuicPacketType, pull_quic_header

from censorwatch.lab.app_lab import AppCase, AppLabEnv, FirewallRule
from censorwatch.lab.origin import Conn, Handler, open_streams, peek_client_hello, read_head, reset
from censorwatch.lab.pki import LAB_DOMAIN, issue
from censorwatch.lab.sites import honest_page, send_page
from censorwatch.lab.sni import server_name

TEST_NAMES = ("http3",)
CRYPTO_FRAME = 0x06
PADDING, PING = 0x00, 0x01


def lab_name(stem: str) -> str:
    return f"{stem}.{LAB_DOMAIN}"


def _initial(datagram: bytes) -> tuple[bytes, str | None] | None:
    """(destination connection ID, SNI) of a client's QUIC Initial, decrypted with the keys anyone
    can derive from that ID (RFC 9001 §5.2), as an on-path censor reads it; the SNI is None when the
    packet's first CRYPTO frame does not hold the ClientHello. None for any other datagram."""
    buf = Buffer(data=datagram)
    try:
        header = pull_quic_header(buf, host_cid_length=8)
        if header.packet_type != QuicPacketType.INITIAL or header.version is None:
            return None
        crypto = CryptoPair()
        crypto.setup_initial(header.destination_cid, is_client=False, version=header.version)
        _, payload, _ = crypto.decrypt_packet(datagram[:header.packet_length], buf.tell(), 0)
    except ValueError:  # also aioquic's BufferReadError and CryptoError
        return None
    return header.destination_cid, _hello_server_name(payload)


def _hello_server_name(payload: bytes) -> str | None:
    frames = Buffer(data=payload)
    try:
        while not frames.eof():
            frame_type = frames.pull_uint_var()
            if frame_type in (PADDING, PING):
                continue
            if frame_type != CRYPTO_FRAME:
                return None  # a client's first Initial carries CRYPTO (and padding) only
            offset, length = frames.pull_uint_var(), frames.pull_uint_var()
            hello = frames.pull_bytes(length)
            if offset == 0:
                # The handshake message as a TLS record, so the lab's ClientHello parser reads it.
                return server_name(b"\x16\x03\x01" + struct.pack("!H", len(hello)) + hello)
    except (ValueError, struct.error):  # ValueError: aioquic's BufferReadError
        return None
    return None


def initial_server_name(datagram: bytes) -> str | None:
    found = _initial(datagram)
    return found[1] if found is not None else None


class SniFilter:
    """Drops QUIC Initials naming a blocked server and, like a censor that has flagged the flow,
    every later datagram of that connection (its retransmissions and its CONNECTION_CLOSE)."""

    def __init__(self, blocked: frozenset[str]) -> None:
        self.blocked = blocked
        self.flagged: set[bytes] = set()

    def __call__(self, datagram: bytes) -> bool:
        found = _initial(datagram)
        if found is None:
            return False
        cid, name = found
        if name in self.blocked:
            self.flagged.add(cid)
        return cid in self.flagged


class _H3Server(QuicConnectionProtocol):
    """Answers every GET with the lab's honest page."""

    site = "http3"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._h3: H3Connection | None = None

    def quic_event_received(self, event: QuicEvent) -> None:
        if isinstance(event, ProtocolNegotiated) and event.alpn_protocol in H3_ALPN:
            self._h3 = H3Connection(self._quic)
        if self._h3 is None:
            return
        for h3_event in self._h3.handle_event(event):
            if isinstance(h3_event, HeadersReceived) and h3_event.stream_ended:
                page = honest_page(self.site)
                self._h3.send_headers(h3_event.stream_id, [
                    (b":status", b"200"), (b"content-type", page.content_type.encode()),
                    (b"server", page.server.encode()), (b"x-lab-site", self.site.encode()),
                    (b"content-length", str(len(page.body)).encode())])
                self._h3.send_data(h3_event.stream_id, page.body, end_stream=True)
        self.transmit()


class CensoringQuicServer(QuicServer):
    """aioquic's server with the censor in front: datagrams from the censored source are dropped
    when `drop` says so."""

    def __init__(self, *, censored_source: str, drop: Callable[[bytes], bool], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.censored_source = censored_source
        self.drop = drop
        self.dropped = 0

    def datagram_received(self, data: bytes | str, addr: NetworkAddress) -> None:
        if str(addr[0]) == self.censored_source and self.drop(cast(bytes, data)):
            self.dropped += 1
            return
        super().datagram_received(data, addr)


def tls_site(env: AppLabEnv, names: list[str], stem: str, alt_svc: str | None, reset_censored: bool) -> Handler:
    context = env.server_context(names, stem)
    page = honest_page("http3")
    if alt_svc is not None:
        page = dataclasses.replace(page, extra_headers=(*page.extra_headers, ("Alt-Svc", alt_svc)))

    async def handle(conn: Conn) -> None:
        if conn.censored and reset_censored:
            await peek_client_hello(conn.sock)
            reset(conn.sock)
            return
        reader, writer = await open_streams(conn, context)
        if await read_head(reader) is not None:
            await send_page(writer, page)

    return handle


def _quic_configuration(env: AppLabEnv, names: list[str], stem: str) -> QuicConfiguration:
    cert_pem, key_pem = issue(env.authority, names)
    cert_path, key_path = Path(env.workdir) / f"{stem}.crt", Path(env.workdir) / f"{stem}.key"
    cert_path.write_bytes(cert_pem)
    key_path.touch(mode=0o600)
    key_path.write_bytes(key_pem)
    configuration = QuicConfiguration(is_client=False, alpn_protocols=H3_ALPN)
    configuration.load_cert_chain(cert_path, key_path)
    return configuration


async def start_pair(env: AppLabEnv, stem: str, names: list[str], drop: Callable[[bytes], bool] | None,
                     alt_svc: bool = True, reset_tcp: bool = False) -> tuple[str, int]:
    """A UDP port with the HTTP/3 server (None: no QUIC server at all) and the TLS site on the same
    port number over TCP; returns (ip, port)."""
    ip = env.new_address()
    for name in names:
        env.zone.honest[name] = ip
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((ip, 0))
    port = int(sock.getsockname()[1])
    if drop is None:
        sock.close()  # the port stays unanswered over UDP: a server without HTTP/3
    else:
        sock.setblocking(False)
        configuration = _quic_configuration(env, names, f"{stem}-quic")
        transport, protocol = await loop.create_datagram_endpoint(
            lambda: CensoringQuicServer(censored_source=env.censored_source, drop=drop,
                                        configuration=configuration, create_protocol=_H3Server), sock=sock)
        server = protocol

        async def close() -> None:
            with contextlib.suppress(Exception):
                server.close()
            transport.close()

        env.on_close.append(close)
    env.listen(ip, port, tls_site(env, names, f"{stem}-tls", f'h3=":{port}"; ma=60' if alt_svc else None,
                                  reset_tcp))
    return ip, port


async def start(env: AppLabEnv) -> list[AppCase]:
    cases: list[AppCase] = []

    def add(name: str, host: str, port: int, verdict: str, blocking: str | None, needs_root: bool,
            description: str) -> None:
        url = f"https://{host}:{port}/"
        cases.append(AppCase(name, "http3", {"urls": [url], "alpn": list(H3_ALPN), "udp_port": None}, verdict,
                             blocking, needs_root, description, inputs=(url,)))

    host = lab_name("h3-ok")
    _, port = await start_pair(env, "h3-ok", [host], drop=lambda _: False)
    add("http3-ok", host, port, "ok", None, False, "HTTP/3 and HTTP/1.1 both answer")

    host = lab_name("h3-udp-dropped")
    _, port = await start_pair(env, "h3-udp-dropped", [host], drop=lambda _: True)
    add("http3-udp-dropped", host, port, "anomaly", "quic", False,
        "the censored source's UDP is dropped (in user space) while TCP 443 works")

    host = lab_name("h3-udp-iptables")
    ip, port = await start_pair(env, "h3-udp-iptables", [host], drop=lambda _: False)
    env.firewall_rules.append(FirewallRule("udp", ip, port, "drop"))
    add("http3-udp-iptables-drop", host, port, "anomaly", "quic", True,
        "an iptables rule drops the censored source's UDP to the port while TCP works")

    blocked, allowed = lab_name("h3-sni-blocked"), lab_name("h3-sni-allowed")
    _, port = await start_pair(env, "h3-sni", [blocked, allowed],
                               drop=SniFilter(frozenset({blocked})))
    add("http3-sni-blocked", blocked, port, "anomaly", "quic", False,
        "QUIC Initials naming the blocked server are dropped; the same server answers QUIC for another name")
    add("http3-sni-other-name", allowed, port, "ok", None, False,
        "the SNI-filtering server of http3-sni-blocked, reached under a name the censor does not block")

    host = lab_name("h3-both-blocked")
    _, port = await start_pair(env, "h3-both-blocked", [host], drop=lambda _: True, reset_tcp=True)
    add("http3-both-blocked", host, port, "anomaly", "tls", False,
        "UDP dropped and the TLS handshake reset: both fail, the TCP path's layer is reported")

    host = lab_name("h3-not-offered")
    _, port = await start_pair(env, "h3-not-offered", [host], drop=None, alt_svc=False)
    add("http3-not-offered", host, port, "ok", None, False,
        "a server without HTTP/3 that does not advertise it: a failed QUIC handshake is no sign of censorship")
    return cases
