"""The lab resolver's answers, decided by the query's source address."""

from __future__ import annotations

import dns.message
import dns.rcode
import pytest

from censorwatch.lab.dns_server import NXDOMAIN, Zone


@pytest.fixture
def zone() -> Zone:
    zone = Zone("lab.censorwatch.test", "127.0.0.2")
    zone.honest.update({"a.lab.censorwatch.test": "127.0.0.1", "b.lab.censorwatch.test": "127.0.0.1"})
    zone.censored.update({"a.lab.censorwatch.test": "127.0.0.66", "b.lab.censorwatch.test": NXDOMAIN})
    return zone


def ask(zone: Zone, name: str, source: str, rdtype: str = "A") -> dns.message.Message:
    wire = zone.reply(dns.message.make_query(name, rdtype).to_wire(), source)
    assert wire is not None
    return dns.message.from_wire(wire)


def addresses(message: dns.message.Message) -> list[str]:
    return [item.to_text() for rrset in message.answer for item in rrset]


@pytest.mark.parametrize(
    ("name", "source", "rcode", "answer"),
    [
        ("a.lab.censorwatch.test", "127.0.0.1", dns.rcode.NOERROR, ["127.0.0.1"]),
        ("a.lab.censorwatch.test", "127.0.0.2", dns.rcode.NOERROR, ["127.0.0.66"]),
        ("A.Lab.Censorwatch.Test", "127.0.0.2", dns.rcode.NOERROR, ["127.0.0.66"]),
        ("b.lab.censorwatch.test", "127.0.0.1", dns.rcode.NOERROR, ["127.0.0.1"]),
        ("b.lab.censorwatch.test", "127.0.0.2", dns.rcode.NXDOMAIN, []),
        ("missing.lab.censorwatch.test", "127.0.0.1", dns.rcode.NXDOMAIN, []),
        ("example.com", "127.0.0.1", dns.rcode.REFUSED, []),  # never forwarded: nothing leaves loopback
    ],
)
def test_answers(zone: Zone, name: str, source: str, rcode: int, answer: list[str]) -> None:
    message = ask(zone, name, source)
    assert message.rcode() == rcode
    assert addresses(message) == answer


def test_aaaa_is_empty_noerror(zone: Zone) -> None:
    message = ask(zone, "a.lab.censorwatch.test", "127.0.0.1", "AAAA")
    assert message.rcode() == dns.rcode.NOERROR
    assert message.answer == []


def test_garbage_gets_no_reply(zone: Zone) -> None:
    assert zone.reply(b"\x00\x01garbage", "127.0.0.1") is None
