"""OpenVPN cases for the `openvpn` test (ts-040) on loopback: real OpenVPN servers (Debian's
binary) with certificates from the lab CA, and the censor in front of them.

The servers run in point-to-point TLS mode with `--dev null`: server mode needs a tun device,
hence root ("--mode server only works with --dev tun or --dev tap"), and the probe's client
(`client` = tls-client + pull) completes the same reset/TLS/key-exchange handshake against either.
The censor, by the censored source address: a UDP relay that drops its datagrams (no root), an
iptables UDP DROP (root), and a TCP relay that resets the connection once it sees the OpenVPN hard
reset opcode, as the DPI boxes that fingerprint OpenVPN do. Everyone else is relayed, so the same
endpoint works from an honest source (the test module checks that too)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import secrets
import socket
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from censorwatch.lab.app_lab import AppCase, AppLabEnv, FirewallRule
from censorwatch.lab.origin import Conn, Handler, open_streams, relay, reset
from censorwatch.lab.pki import Authority
from censorwatch.probe.experiments._openvpn_process import openvpn_binary

TEST_NAMES = ("openvpn",)

DROP_TIMEOUT = 3  # seconds for the probe's handshake where the censor drops it (the case lasts that long)
CASE_TIMEOUT = 10  # elsewhere: a bound only, never reached on a working lab
PROVIDER = "unknown-lab"  # ts-040: a provider OONI does not know is labelled unknown...
CIPHER, AUTH = "AES-256-GCM", "SHA512"  # riseup's, as in OONI's sample measurements
_READY_LIMIT = 10.0
_HARD_RESET_OPCODES = frozenset({7, 10})  # P_CONTROL_HARD_RESET_CLIENT_V2, _V3
_DATAGRAM = 65535
_RELAY_IDLE = 30.0
_RESTART_LIMIT = 5.0  # seconds the TCP front waits for a restarting server


@dataclass(frozen=True)
class Credentials:
    ca: str
    server_cert: str
    server_key: str
    client_cert: str
    client_key: str
    static_key: str  # for --tls-auth


def credentials(authority: Authority) -> Credentials:
    server_cert, server_key = _issue(authority, "openvpn-server.lab", ExtendedKeyUsageOID.SERVER_AUTH)
    client_cert, client_key = _issue(authority, "openvpn-client.lab", ExtendedKeyUsageOID.CLIENT_AUTH)
    return Credentials(authority.pem().decode(), server_cert, server_key, client_cert, client_key, _static_key())


def _issue(authority: Authority, name: str, usage: x509.ObjectIdentifier) -> tuple[str, str]:
    """OpenVPN's `remote-cert-tls` wants key usage and extended key usage, which lab/pki.issue leaves out."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(authority.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, True, False, True, False, False, False, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .sign(authority.key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem.decode()


def _static_key() -> str:
    """An OpenVPN static key V1 (2048 random bits in hex), as `openvpn --genkey tls-auth` writes it."""
    body = "\n".join(secrets.token_hex(16) for _ in range(16))
    return f"-----BEGIN OpenVPN Static key V1-----\n{body}\n-----END OpenVPN Static key V1-----\n"


# --- the servers ------------------------------------------------------------------------------------------------


@dataclass
class OpenVPNServer:
    """One point-to-point TLS server process; `close` kills it."""

    host: str
    port: int
    process: asyncio.subprocess.Process
    log: deque[str] = field(default_factory=lambda: deque(maxlen=50))
    _drain: asyncio.Task[None] | None = None

    async def close(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.process.wait(), 5.0)
        if self._drain is not None:
            self._drain.cancel()


async def start_server(binary: str, directory: Path, host: str, transport: Literal["udp", "tcp"],
                       creds: Credentials, tls_auth: bool) -> OpenVPNServer:
    """A server on `host` at a free port. The port is picked by binding port 0 and handed to
    OpenVPN; if another process takes it in between, the next port is tried."""
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "server.conf"
    config.touch(mode=0o600)
    config.write_text(_server_config(host, transport, creds, tls_auth))
    last_error = ""
    for _ in range(3):
        port = _free_port(host, transport)
        server = await _spawn(binary, config, port)
        if await _ready(server, transport):
            server.port = port
            server.host = host
            return server
        last_error = " | ".join(list(server.log)[-3:])
        await server.close()
    raise RuntimeError(f"the lab's OpenVPN server did not start on {host}: {last_error}")


def _server_config(host: str, transport: str, creds: Credentials, tls_auth: bool) -> str:
    lines = [
        "tls-server",
        "dev null",
        "dh none",  # ECDHE only
        "float",  # a p2p server otherwise keeps talking to its first peer only
        f"proto {'udp' if transport == 'udp' else 'tcp-server'}",
        f"local {host}",
        f"data-ciphers {CIPHER}",
        f"auth {AUTH}",
        "script-security 0",
        "verb 3",
    ]
    blocks = [("ca", creds.ca), ("cert", creds.server_cert), ("key", creds.server_key)]
    if tls_auth:
        lines.append("key-direction 0")
        blocks.append(("tls-auth", creds.static_key))
    return "\n".join(lines + [f"<{name}>\n{text.strip()}\n</{name}>" for name, text in blocks]) + "\n"


async def _spawn(binary: str, config: Path, port: int) -> OpenVPNServer:
    process = await asyncio.create_subprocess_exec(
        binary, "--config", str(config), "--lport", str(port), cwd=str(config.parent),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    server = OpenVPNServer("", port, process)
    server._drain = asyncio.create_task(_drain(server))
    return server


async def _drain(server: OpenVPNServer) -> None:
    """Keep the pipe empty (a full pipe would stall OpenVPN) and the last lines for diagnosis."""
    stdout = server.process.stdout
    assert stdout is not None
    while line := await stdout.readline():
        server.log.append(line.decode("utf-8", "replace").rstrip())


async def _ready(server: OpenVPNServer, transport: str) -> bool:
    """Bound (UDP) or listening (TCP), as OpenVPN logs it; False when it exited first."""
    marker = "link local (bound)" if transport == "udp" else "Listening for incoming TCP connection"
    loop = asyncio.get_running_loop()
    limit = loop.time() + _READY_LIMIT
    while loop.time() < limit:
        if any(marker in line for line in server.log):
            return True
        if server.process.returncode is not None:
            return False
        await asyncio.sleep(0.02)
    return False


def _free_port(host: str, transport: str) -> int:
    kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


# --- the censor -------------------------------------------------------------------------------------------------


class UdpRelay(asyncio.DatagramProtocol):
    """Relays datagrams to `target`, one upstream socket per client; drops the censored source's."""

    def __init__(self, target: tuple[str, int], censored_source: str) -> None:
        self.target = target
        self.censored_source = censored_source
        self.transport: asyncio.DatagramTransport | None = None
        self.upstreams: dict[tuple[str, int], asyncio.DatagramTransport] = {}
        self.dropped = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        client = (str(addr[0]), int(addr[1]))
        if client[0] == self.censored_source:
            self.dropped += 1
            return
        upstream = self.upstreams.get(client)
        if upstream is not None:
            upstream.sendto(data)
            return
        asyncio.get_running_loop().create_task(self._open(client, data))

    async def _open(self, client: tuple[str, int], first: bytes) -> None:
        relay = self

        class Back(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
                if relay.transport is not None:
                    relay.transport.sendto(data, client)

        upstream, _ = await asyncio.get_running_loop().create_datagram_endpoint(Back, remote_addr=self.target)
        self.upstreams[client] = upstream
        upstream.sendto(first)

    def close(self) -> None:
        for upstream in self.upstreams.values():
            upstream.close()
        self.upstreams.clear()
        if self.transport is not None:
            self.transport.close()


def tcp_front(target: tuple[str, int], reset_censored: bool) -> Handler:
    """A TCP relay in front of a TCP server. With `reset_censored`, the censor: it peeks at the
    censored source's first OpenVPN packet (TCP framing: a 2-byte length, then the opcode in the
    high 5 bits) and resets the connection when it is a client hard reset. Everyone and everything
    else is relayed. The relay also hides the server's restarts: a point-to-point TCP server
    closes its port for a second after each client (OpenVPN's restart pause)."""

    async def handle(conn: Conn) -> None:
        if conn.censored and reset_censored:
            head = await _peek(conn.sock, 3)
            if len(head) == 3 and head[2] >> 3 in _HARD_RESET_OPCODES:
                reset(conn.sock)
                return
        remote_reader, remote_writer = await _connect_retrying(target)
        await relay(await open_streams(conn, None), (remote_reader, remote_writer), _RELAY_IDLE)

    return handle


async def _connect_retrying(target: tuple[str, int]) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    loop = asyncio.get_running_loop()
    limit = loop.time() + _RESTART_LIMIT
    while True:
        try:
            return await asyncio.wait_for(asyncio.open_connection(*target), 5.0)
        except ConnectionRefusedError:
            if loop.time() > limit:
                raise
            await asyncio.sleep(0.05)


async def _peek(sock: socket.socket, size: int, timeout: float = 10.0) -> bytes:
    """The first `size` bytes without consuming them (the relay may still forward them)."""
    loop = asyncio.get_running_loop()
    limit = loop.time() + timeout
    data = b""
    while loop.time() < limit:
        try:
            data = sock.recv(size, socket.MSG_PEEK)
        except BlockingIOError:
            data = b""
        else:
            if not data or len(data) >= size:  # b"": the client closed
                return data
        await asyncio.sleep(0.005)
    return data


# --- the cases --------------------------------------------------------------------------------------------------


async def start(env: AppLabEnv) -> list[AppCase]:
    binary = openvpn_binary()
    if binary is None:
        return []  # no OpenVPN cases without the binary; the test module skips them by name
    creds = credentials(env.authority)
    loop = asyncio.get_running_loop()

    async def server(name: str, transport: Literal["udp", "tcp"], tls_auth: bool = False) -> OpenVPNServer:
        started = await start_server(binary, env.workdir / "openvpn" / name, env.new_address(), transport, creds,
                                     tls_auth)
        env.on_close.append(started.close)
        return started

    udp_ok = await server("udp-ok", "udp", tls_auth=True)
    udp_relayed = await server("udp-relayed", "udp")
    udp_firewalled = await server("udp-firewalled", "udp")
    tcp_ok = await server("tcp-ok", "tcp")
    tcp_relayed = await server("tcp-relayed", "tcp")

    relay_host = env.new_address()
    relay_transport, relay = await loop.create_datagram_endpoint(
        lambda: UdpRelay((udp_relayed.host, udp_relayed.port), env.censored_source), local_addr=(relay_host, 0))
    relay_port = relay_transport.get_extra_info("sockname")[1]

    async def close_relay() -> None:
        relay.close()

    env.on_close.append(close_relay)
    env.firewall_rules.append(FirewallRule("udp", udp_firewalled.host, udp_firewalled.port, "drop"))
    tcp_ok_host = env.new_address()
    tcp_ok_port = env.listen(tcp_ok_host, 0, tcp_front((tcp_ok.host, tcp_ok.port), reset_censored=False))
    reset_host = env.new_address()
    reset_port = env.listen(reset_host, 0, tcp_front((tcp_relayed.host, tcp_relayed.port), reset_censored=True))

    def section(host: str, port: int, transport: str, tls_auth: bool = False,
                timeout: int = CASE_TIMEOUT) -> dict[str, Any]:
        endpoint: dict[str, Any] = {
            "provider": PROVIDER, "address": f"{host}:{port}", "transport": transport,
            "ca": creds.ca, "cert": creds.client_cert, "key": creds.client_key, "cipher": CIPHER, "auth": AUTH,
        }
        if tls_auth:
            endpoint |= {"tls_auth": creds.static_key, "key_direction": 1}
        return {"timeout": timeout, "endpoints": [endpoint]}

    udp_dropped = section(relay_host, relay_port, "udp", timeout=DROP_TIMEOUT)
    udp_firewall = section(udp_firewalled.host, udp_firewalled.port, "udp", timeout=DROP_TIMEOUT)
    return [
        AppCase("openvpn-udp-ok", "openvpn", section(udp_ok.host, udp_ok.port, "udp", tls_auth=True), "ok", None,
                False, "an OpenVPN server over UDP (with tls-auth) that answers everyone"),
        AppCase("openvpn-udp-dropped", "openvpn", udp_dropped, "anomaly", "tcp_ip", False,
                "the censor drops the censored source's UDP datagrams to the OpenVPN server: the hard reset "
                "is never answered"),
        AppCase("openvpn-udp-firewalled", "openvpn", udp_firewall, "anomaly", "tcp_ip", True,
                "iptables drops the censored source's UDP datagrams to the OpenVPN server"),
        AppCase("openvpn-tcp-ok", "openvpn", section(tcp_ok_host, tcp_ok_port, "tcp"), "ok", None, False,
                "an OpenVPN server over TCP that answers everyone (through a relay that hides its restarts)"),
        AppCase("openvpn-tcp-reset", "openvpn", section(reset_host, reset_port, "tcp"), "anomaly", "tls", False,
                "the censor lets the censored source's TCP connect through, then resets it when the OpenVPN "
                "hard reset opcode goes by (DPI)"),
    ]

__all__ = ["TEST_NAMES", "UdpRelay", "credentials", "start", "start_server", "tcp_front"]
