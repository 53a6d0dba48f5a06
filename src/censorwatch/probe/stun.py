"""The probe's public address from a STUN Binding request (RFC 5389), as OONI Probe learns it.

The address is returned to the caller and nowhere else: it is not logged, and no error message
carries it (geolocation.py turns it into a country and a network and drops it).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import secrets
import socket
import struct
from typing import Final

MAGIC_COOKIE: Final = 0x2112A442  # RFC 5389 §6
BINDING_REQUEST: Final = 0x0001
BINDING_SUCCESS: Final = 0x0101
MAPPED_ADDRESS: Final = 0x0001  # RFC 5389 §15.1 (RFC 3489 servers answer only this)
XOR_MAPPED_ADDRESS: Final = 0x0020  # RFC 5389 §15.2
HEADER: Final = struct.Struct("!HHI12s")
ATTEMPTS: Final = 3  # RFC 5389 §7.2.1 retransmits over UDP; three sends within the timeout suffice here

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class StunError(Exception):
    """No usable answer from a STUN server (the message never names an address)."""


def binding_request(transaction_id: bytes) -> bytes:
    return HEADER.pack(BINDING_REQUEST, 0, MAGIC_COOKIE, transaction_id)


def parse_binding_response(data: bytes, transaction_id: bytes) -> IpAddress:
    """The mapped address of a Binding success response to our request."""
    if len(data) < HEADER.size:
        raise StunError("short STUN message")
    kind, length, cookie, tid = HEADER.unpack_from(data)
    if cookie != MAGIC_COOKIE or tid != transaction_id:
        raise StunError("not an answer to our request")
    if kind != BINDING_SUCCESS:
        raise StunError(f"STUN answer of type {kind:#06x}, not a Binding success")
    body = data[HEADER.size:HEADER.size + length]
    mapped: IpAddress | None = None
    offset = 0
    while offset + 4 <= len(body):
        attr_type, attr_len = struct.unpack_from("!HH", body, offset)
        value = body[offset + 4:offset + 4 + attr_len]
        if attr_type == XOR_MAPPED_ADDRESS:
            return _address(value, xor_key=struct.pack("!I", MAGIC_COOKIE) + transaction_id)
        if attr_type == MAPPED_ADDRESS and mapped is None:
            mapped = _address(value, xor_key=None)
        offset += 4 + attr_len + (-attr_len % 4)  # attributes are padded to 32 bits (§15)
    if mapped is None:
        raise StunError("STUN answer without a mapped address")
    return mapped


def _address(value: bytes, xor_key: bytes | None) -> IpAddress:
    """(XOR-)MAPPED-ADDRESS: reserved byte, family (1 IPv4, 2 IPv6), port, address (§15.1-2)."""
    if len(value) < 4:
        raise StunError("truncated address attribute")
    family = value[1]
    size = {1: 4, 2: 16}.get(family)
    if size is None or len(value) < 4 + size:
        raise StunError("malformed address attribute")
    raw = value[4:4 + size]
    if xor_key is not None:
        raw = bytes(a ^ b for a, b in zip(raw, xor_key[:size], strict=True))
    return ipaddress.ip_address(raw)


class _Exchange(asyncio.DatagramProtocol):
    def __init__(self, transaction_id: bytes) -> None:
        self.transaction_id = transaction_id
        self.answer: asyncio.Future[IpAddress] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        if self.answer.done():
            return
        # A stray or foreign datagram is ignored: keep waiting for ours.
        with contextlib.suppress(StunError, ValueError):
            self.answer.set_result(parse_binding_response(data, self.transaction_id))

    def error_received(self, exc: Exception) -> None:
        if not self.answer.done():
            self.answer.set_exception(StunError(f"STUN server unreachable: {type(exc).__name__}"))


async def public_address(host: str, port: int, timeout: float = 3.0,
                         source_address: str | None = None) -> IpAddress:
    """Our address as the STUN server at host:port sees it."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except OSError as error:
        raise StunError(f"cannot resolve the STUN server: {type(error).__name__}") from None
    family, _, _, _, remote = infos[0]
    remote_addr = (str(remote[0]), int(remote[1]))
    if source_address is not None and ipaddress.ip_address(source_address).version != (
            6 if family == socket.AF_INET6 else 4):
        raise StunError("the STUN server's address family differs from --source-address")
    transaction_id = secrets.token_bytes(12)
    request = binding_request(transaction_id)
    try:
        transport, protocol = await loop.create_datagram_endpoint(
            lambda: _Exchange(transaction_id), remote_addr=remote_addr, family=family,
            local_addr=(source_address, 0) if source_address else None,
        )
    except OSError as error:
        raise StunError(f"cannot reach the STUN server: {type(error).__name__}") from None
    try:
        for _ in range(ATTEMPTS):
            transport.sendto(request)
            try:
                return await asyncio.wait_for(asyncio.shield(protocol.answer), timeout / ATTEMPTS)
            except TimeoutError:
                continue
        raise StunError("no answer from the STUN server")
    finally:
        transport.close()
        if not protocol.answer.done():
            protocol.answer.cancel()
