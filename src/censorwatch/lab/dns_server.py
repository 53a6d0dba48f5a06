"""The lab's censoring resolver: honest answers to everyone, the censored answer to the censored source.

It answers only for lab names (everything else is REFUSED: nothing is forwarded, so no query ever leaves
loopback). Queries are parsed with dnspython; UDP and TCP (RFC 1035 §4.2.2 two-byte length prefix).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from dataclasses import dataclass, field
from typing import cast

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

NXDOMAIN = "NXDOMAIN"
TTL = 1


@dataclass
class Zone:
    """name -> honest A record; censored name -> NXDOMAIN or the forged A record (loopback only)."""

    suffix: str
    censored_source: str
    honest: dict[str, str] = field(default_factory=dict)
    censored: dict[str, str] = field(default_factory=dict)
    queries: int = 0

    def answer(self, query: dns.message.Message, source: str) -> dns.message.Message:
        self.queries += 1
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA | dns.flags.RA
        if not query.question:
            response.set_rcode(dns.rcode.FORMERR)
            return response
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        if not (name == self.suffix or name.endswith("." + self.suffix)):
            response.set_rcode(dns.rcode.REFUSED)
            return response
        address = self.honest.get(name)
        if source == self.censored_source and name in self.censored:
            address = self.censored[name]
        if address is None or address == NXDOMAIN:
            response.set_rcode(dns.rcode.NXDOMAIN)
            return response
        if question.rdtype == dns.rdatatype.A and question.rdclass == dns.rdataclass.IN:
            response.answer.append(dns.rrset.from_text(question.name, TTL, "IN", "A", address))
        return response  # AAAA and others: NOERROR without answers (the lab is IPv4 only)

    def reply(self, wire: bytes, source: str) -> bytes | None:
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None
        return self.answer(query, source).to_wire()


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, zone: Zone) -> None:
        self.zone = zone
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        wire = self.zone.reply(data, str(addr[0]))
        if wire is not None and self.transport is not None:
            self.transport.sendto(wire, addr)


UDP_BUFFER = 4 << 20


def _udp_socket(host: str) -> socket.socket:
    """A large receive buffer: a probe's burst of concurrent queries must not be dropped by the kernel before the
    lab reads them (the default ~200 KiB dropped a third of 400 simultaneous queries, measured)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for option in (getattr(socket, "SO_RCVBUFFORCE", None), socket.SO_RCVBUF):
        if option is None:
            continue
        try:
            sock.setsockopt(socket.SOL_SOCKET, option, UDP_BUFFER)
            break
        except OSError:  # SO_RCVBUFFORCE needs CAP_NET_ADMIN; SO_RCVBUF is capped by rmem_max
            continue
    sock.bind((host, 0))
    sock.setblocking(False)
    return sock


class LabDnsServer:
    def __init__(self, zone: Zone) -> None:
        self.zone = zone
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self.address: tuple[str, int] = ("", 0)

    async def start(self, host: str = "127.0.0.1") -> tuple[str, int]:
        """UDP on an ephemeral port, TCP on the same port number (retried until both are free)."""
        loop = asyncio.get_running_loop()
        for _ in range(50):
            transport, _ = await loop.create_datagram_endpoint(lambda: _Udp(self.zone), sock=_udp_socket(host))
            port = transport.get_extra_info("sockname")[1]
            try:
                self._tcp = await asyncio.start_server(self._tcp_client, host, port)
            except OSError:
                transport.close()
                continue
            self._udp = transport
            self.address = (host, port)
            return self.address
        raise OSError("no free port for the lab DNS server")

    async def _tcp_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        source = str(writer.get_extra_info("peername")[0])
        try:
            while True:
                async with asyncio.timeout(10):
                    (length,) = struct.unpack("!H", await reader.readexactly(2))
                    wire = await reader.readexactly(length)
                answer = self.zone.reply(wire, source)
                if answer is None:
                    break
                writer.write(struct.pack("!H", len(answer)) + answer)
                await writer.drain()
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.transport.abort()

    async def close(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
            with contextlib.suppress(Exception):
                await self._tcp.wait_closed()
