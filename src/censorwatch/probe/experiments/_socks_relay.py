"""A SOCKS5 relay on 127.0.0.1 that the Tor tests put between their child processes and the network.

Two reasons. tor and obfs4proxy make their own connections, so without it we would see neither the
TCP connect to a bridge nor its bytes (OONI's tor test records both: tcp_connect, network_events);
obfs4proxy takes the relay as its upstream proxy (TOR_PT_PROXY), tor as its Socks5Proxy. And the
probe's `source_address` must hold for their traffic too: tor does not apply OutboundBindAddress to
loopback destinations, obfs4proxy has no such option; the relay binds it on every connection."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import Any

from censorwatch.model import failures
from censorwatch.model.failure_map import failure_of
from censorwatch.probe.endpoints import close

READ_CHUNK = 32 * 1024

# RFC 1928 reply codes for the failures a connect can have.
_REPLY_OF_FAILURE = {
    failures.NETWORK_UNREACHABLE: 3,
    failures.HOST_UNREACHABLE: 4,
    failures.CONNECTION_REFUSED: 5,
    failures.GENERIC_TIMEOUT: 6,
}


def endpoint(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass
class Relayed:
    """One connection the relay made on a client's behalf, with OONI's df-008 network events."""

    host: str
    port: int
    t0: float  # the measurement's monotonic start
    connect_failure: str | None = None
    connect_t: float = 0.0
    events: list[dict[str, Any]] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def address(self) -> str:
        return endpoint(self.host, self.port)

    def event(self, operation: str, failure: str | None, num_bytes: int | None = None) -> None:
        entry: dict[str, Any] = {"failure": failure, "operation": operation, "proto": "tcp",
                                 "t": round(time.monotonic() - self.t0, 6)}
        if operation == "connect":
            entry["address"] = self.address
        if num_bytes is not None:
            entry["num_bytes"] = num_bytes
        self.events.append(entry)

    def read_failure(self) -> str | None:
        """The first failed read from the remote side (reset, eof): how a censor broke the flow."""
        for entry in self.events:
            if entry["operation"] == "read" and entry["failure"]:
                return str(entry["failure"])
        return None


class SocksRelay:
    def __init__(self, source_address: str | None, connect_timeout: float, t0: float) -> None:
        self.source_address = source_address
        self.connect_timeout = connect_timeout
        self.t0 = t0
        self.connections: list[Relayed] = []
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)
            self._server = None

    def to(self, address: str) -> list[Relayed]:
        return [c for c in self.connections if c.address == address]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            target = await asyncio.wait_for(_handshake(reader, writer), self.connect_timeout)
            if target is not None:
                await self._relay(target, reader, writer)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
            pass
        except asyncio.CancelledError:
            # Only close() cancels these tasks; asyncio's server callback would report a cancelled
            # handler as an error, so it ends here.
            pass
        finally:
            self._tasks.discard(task)
            writer.transport.abort()

    async def _relay(self, target: tuple[str, int], reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        relayed = Relayed(target[0], target[1], self.t0)
        self.connections.append(relayed)
        local = (self.source_address, 0) if self.source_address else None
        try:
            remote_reader, remote_writer = await asyncio.wait_for(
                asyncio.open_connection(target[0], target[1], local_addr=local), self.connect_timeout)
        except (OSError, TimeoutError) as error:
            relayed.connect_failure = failure_of(error)
            relayed.event("connect", relayed.connect_failure)
            relayed.done.set()
            writer.write(_reply(_REPLY_OF_FAILURE.get(relayed.connect_failure, 1)))
            with contextlib.suppress(OSError):
                await writer.drain()
            return
        relayed.event("connect", None)
        try:
            writer.write(_reply(0))
            await writer.drain()
            upstream = asyncio.ensure_future(_pipe(reader, remote_writer, relayed, "write", outbound=True))
            downstream = asyncio.ensure_future(_pipe(remote_reader, writer, relayed, "read", outbound=False))
            try:
                await asyncio.wait({upstream, downstream}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for pipe in (upstream, downstream):
                    pipe.cancel()
                await asyncio.gather(upstream, downstream, return_exceptions=True)
        finally:
            remote_writer.transport.abort()
            await close(remote_writer)
            relayed.done.set()


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter, relayed: Relayed, operation: str,
                outbound: bool) -> None:
    while True:
        try:
            data = await source.read(READ_CHUNK)
        except OSError as error:
            if not outbound:
                relayed.event("read", failure_of(error))
            return
        if not data:
            if not outbound:
                relayed.event("read", failures.EOF_ERROR)
            return
        try:
            sink.write(data)
            await sink.drain()
        except OSError as error:
            if outbound:
                relayed.event("write", failure_of(error), len(data))
            return
        relayed.event(operation, None, len(data))


async def _handshake(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> tuple[str, int] | None:
    """RFC 1928 CONNECT, no authentication (and username/password accepted and ignored)."""
    version, count = await reader.readexactly(2)
    methods = await reader.readexactly(count)
    if version != 5:
        return None
    if 0 in methods:
        writer.write(b"\x05\x00")
    elif 2 in methods:
        writer.write(b"\x05\x02")
        await writer.drain()
        _, ulen = await reader.readexactly(2)
        await reader.readexactly(ulen)
        (plen,) = await reader.readexactly(1)
        await reader.readexactly(plen)
        writer.write(b"\x01\x00")
    else:
        writer.write(b"\x05\xff")
        return None
    await writer.drain()
    _, command, _, kind = await reader.readexactly(4)
    if kind == 1:
        host = socket.inet_ntop(socket.AF_INET, await reader.readexactly(4))
    elif kind == 4:
        host = socket.inet_ntop(socket.AF_INET6, await reader.readexactly(16))
    elif kind == 3:
        (length,) = await reader.readexactly(1)
        host = (await reader.readexactly(length)).decode("idna")
    else:
        writer.write(_reply(8))
        return None
    (port,) = struct.unpack("!H", await reader.readexactly(2))
    if command != 1:
        writer.write(_reply(7))
        return None
    return host, port


def _reply(code: int) -> bytes:
    return bytes([5, code, 0, 1]) + ipaddress.IPv4Address("0.0.0.0").packed + b"\x00\x00"
