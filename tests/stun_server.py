"""A STUN server on 127.0.0.1 for tests: answers every Binding request with an XOR-MAPPED-ADDRESS
of the test's choosing (a documentation-range address is only a value in the packet; no traffic
goes to it), and counts the requests it saw."""

from __future__ import annotations

import asyncio
import ipaddress
import struct
import threading
from typing import Any

from censorwatch.probe.stun import BINDING_REQUEST, BINDING_SUCCESS, HEADER, MAGIC_COOKIE, XOR_MAPPED_ADDRESS


def binding_success(transaction_id: bytes, address: str, port: int = 40000) -> bytes:
    ip = ipaddress.ip_address(address)
    key = struct.pack("!I", MAGIC_COOKIE) + transaction_id
    xored = bytes(a ^ b for a, b in zip(ip.packed, key[:len(ip.packed)], strict=True))
    value = struct.pack("!BBH", 0, 1 if ip.version == 4 else 2, port ^ (MAGIC_COOKIE >> 16)) + xored
    attribute = struct.pack("!HH", XOR_MAPPED_ADDRESS, len(value)) + value
    header: bytes = HEADER.pack(BINDING_SUCCESS, len(attribute), MAGIC_COOKIE, transaction_id)
    return header + attribute


class _Answer(asyncio.DatagramProtocol):
    def __init__(self, server: StunServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        if len(data) < HEADER.size:
            return
        kind, _, cookie, tid = HEADER.unpack_from(data)
        if kind != BINDING_REQUEST or cookie != MAGIC_COOKIE:
            return
        self.server.requests += 1
        if self.server.silent:
            return
        assert self.transport is not None
        self.transport.sendto(binding_success(tid, self.server.mapped), addr)


class StunServer:
    def __init__(self, mapped: str, silent: bool = False) -> None:
        self.mapped = mapped
        self.silent = silent  # a dead server: receives, never answers
        self.requests = 0
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._transport: asyncio.DatagramTransport | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> StunServer:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        future.result(10)
        return self

    async def _start(self) -> None:
        transport, _ = await self._loop.create_datagram_endpoint(lambda: _Answer(self), local_addr=("127.0.0.1", 0))
        self._transport = transport
        self.port = transport.get_extra_info("sockname")[1]

    def __exit__(self, *exc: object) -> None:
        if self._transport is not None:
            self._loop.call_soon_threadsafe(self._transport.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
