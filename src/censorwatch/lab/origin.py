"""Origin servers and in-path interference, decided per connection by the client's source address.

A `LabListener` accepts raw sockets itself (so a handler can peek at the ClientHello or reset the connection
before any byte is read) and then hands the socket to asyncio streams, with TLS when the site is https.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import struct
from asyncio.trsock import TransportSocket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from censorwatch.lab.sni import record_complete, server_name

HEAD_LIMIT = 16 * 1024
CLIENT_TIMEOUT = 10.0


@dataclass
class Conn:
    sock: socket.socket
    peer: str
    censored: bool
    writer: asyncio.StreamWriter | None = None  # set once the socket belongs to an asyncio transport


Handler = Callable[[Conn], Awaitable[None]]


def linger_zero(sock: socket.socket | TransportSocket) -> None:
    """SO_LINGER 0: closing then sends a RST instead of a FIN, as an on-path censor's injection does."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def reset(sock: socket.socket) -> None:
    linger_zero(sock)
    sock.close()


async def peek_client_hello(sock: socket.socket, timeout: float = 5.0) -> bytes:
    """The first TLS record without consuming it (MSG_PEEK), so the TLS server later reads it again."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    data = b""
    while loop.time() < deadline:
        try:
            data = sock.recv(16 * 1024, socket.MSG_PEEK)
        except BlockingIOError:
            data = b""
        else:
            if not data or record_complete(data):  # b"": the client closed
                return data
        await asyncio.sleep(0.005)
    return data


async def open_streams(conn: Conn, context: ssl.SSLContext | None) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=HEAD_LIMIT)
    protocol = asyncio.StreamReaderProtocol(reader)
    transport, _ = await loop.connect_accepted_socket(
        lambda: protocol, sock=conn.sock, ssl=context, ssl_handshake_timeout=5.0 if context else None
    )
    conn.writer = asyncio.StreamWriter(transport, protocol, reader, loop)
    return reader, conn.writer


async def read_head(reader: asyncio.StreamReader) -> dict[str, str] | None:
    """Request line and headers (lower-case names); None when the client sent nothing usable."""
    try:
        async with asyncio.timeout(CLIENT_TIMEOUT):
            raw = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, OSError):
        return None
    lines = raw.decode("latin-1").split("\r\n")
    head = {":request": lines[0]}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            head[name.strip().lower()] = value.strip()
    return head


class LabListener:
    def __init__(self, host: str, port: int, handler: Handler, censored_source: str) -> None:
        self.host, self.port = host, port
        self.handler = handler
        self.censored_source = censored_source
        self._sock: socket.socket | None = None
        self._accept_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def bind(self) -> int:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        sock.listen(128)
        sock.setblocking(False)
        self._sock = sock
        self.port = sock.getsockname()[1]
        return self.port

    def start(self) -> None:
        assert self._sock is not None, "bind() first"
        self._accept_task = asyncio.get_running_loop().create_task(self._accept_loop())

    async def _accept_loop(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._sock is not None
        while True:
            try:
                client, address = await loop.sock_accept(self._sock)
            except OSError:
                await asyncio.sleep(0.01)
                continue
            client.setblocking(False)
            peer = str(address[0])
            task = loop.create_task(self._run(Conn(client, peer, peer == self.censored_source)))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, conn: Conn) -> None:
        try:
            await self.handler(conn)
        except (OSError, TimeoutError, ssl.SSLError, asyncio.IncompleteReadError):
            pass
        finally:
            if conn.writer is not None:
                conn.writer.transport.abort()
            else:
                with contextlib.suppress(OSError):
                    conn.sock.close()

    async def close(self) -> None:
        if self._accept_task is not None:
            self._accept_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._accept_task
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._sock is not None:
            self._sock.close()


class Blackhole:
    """A listening socket whose accept queue is full and never drained: the kernel drops every
    further SYN to its address and port (a full queue drops, it does not refuse), so a connect
    times out as when a censor drops the packets on the way. Needs no root, but drops for every
    source, not only the censored one: give it an address no honest client uses."""

    def __init__(self, host: str) -> None:
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            self.listener.bind((host, 0))
            self.listener.listen(0)  # a queue of one: the filler below takes it
            self.port: int = self.listener.getsockname()[1]
            self.filler.settimeout(2.0)
            self.filler.connect((host, self.port))
        except OSError:
            self._close()
            raise

    def _close(self) -> None:
        for sock in (self.filler, self.listener):
            with contextlib.suppress(OSError):
                sock.close()

    async def close(self) -> None:
        self._close()



async def relay(client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
                server: tuple[asyncio.StreamReader, asyncio.StreamWriter], idle: float | None = None) -> None:
    """Copy both ways until either side closes (or is idle for `idle` seconds), then abort both."""

    async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, TimeoutError):
            while data := await asyncio.wait_for(source.read(65536), idle):
                sink.write(data)
                await sink.drain()
        sink.transport.abort()

    try:
        await asyncio.gather(pipe(client[0], server[1]), pipe(server[0], client[1]))
    finally:
        server[1].transport.abort()


__all__ = [
    "Blackhole",
    "Conn",
    "Handler",
    "LabListener",
    "linger_zero",
    "open_streams",
    "peek_client_hello",
    "read_head",
    "relay",
    "reset",
    "server_name",
]
