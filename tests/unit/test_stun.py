"""STUN Binding (RFC 5389): message encoding and parsing, and a real exchange with a STUN server
on 127.0.0.1."""

from __future__ import annotations

import asyncio
import struct

import pytest

from censorwatch.probe.stun import (
    BINDING_SUCCESS,
    HEADER,
    MAGIC_COOKIE,
    MAPPED_ADDRESS,
    StunError,
    binding_request,
    parse_binding_response,
    public_address,
)
from tests.stun_server import StunServer, binding_success

TID = bytes(range(12))


def test_binding_request_has_rfc5389_header() -> None:
    assert binding_request(TID) == b"\x00\x01\x00\x00\x21\x12\xa4\x42" + TID


@pytest.mark.parametrize("address", ["198.51.100.7", "2001:db8::7"])
def test_xor_mapped_address_round_trips(address: str) -> None:
    assert str(parse_binding_response(binding_success(TID, address), TID)) == address


def test_plain_mapped_address_of_rfc3489_servers() -> None:
    value = struct.pack("!BBH", 0, 1, 1234) + bytes([203, 0, 113, 9])
    attribute = struct.pack("!HH", MAPPED_ADDRESS, len(value)) + value
    data = HEADER.pack(BINDING_SUCCESS, len(attribute), MAGIC_COOKIE, TID) + attribute
    assert str(parse_binding_response(data, TID)) == "203.0.113.9"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x01\x01\x00\x00",
        binding_success(bytes(12), "198.51.100.7"),  # another transaction
        HEADER.pack(0x0111, 0, MAGIC_COOKIE, TID),  # a Binding error response
        HEADER.pack(BINDING_SUCCESS, 0, MAGIC_COOKIE, TID),  # no address attribute
        HEADER.pack(BINDING_SUCCESS, 8, MAGIC_COOKIE, TID) + struct.pack("!HH", 0x0020, 4) + b"\x00\x09\x00\x00",
    ],
)
def test_unusable_answers_are_refused(data: bytes) -> None:
    with pytest.raises(StunError):
        parse_binding_response(data, TID)


def test_exchange_with_a_loopback_stun_server() -> None:
    with StunServer("198.51.100.7") as server:
        address = asyncio.run(public_address("127.0.0.1", server.port, timeout=3))
    assert str(address) == "198.51.100.7"
    assert server.requests == 1


def test_silent_server_is_an_error_without_an_address() -> None:
    with StunServer("198.51.100.7", silent=True) as server, pytest.raises(StunError) as raised:
        asyncio.run(public_address("127.0.0.1", server.port, timeout=0.6))
    assert server.requests == 3  # retransmitted (RFC 5389 §7.2.1)
    assert "198.51.100.7" not in str(raised.value)
