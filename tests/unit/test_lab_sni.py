"""SNI parsing from real ClientHellos (produced by Python's ssl) and from hostile bytes."""

from __future__ import annotations

import contextlib
import ssl

from hypothesis import given
from hypothesis import strategies as st

from censorwatch.lab.sni import record_complete, server_name


def client_hello(sni: str | None) -> bytes:
    context = ssl.create_default_context()
    if sni is None:
        context.check_hostname = False
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname=sni)
    with contextlib.suppress(ssl.SSLWantReadError):  # no server: the handshake stops after the ClientHello
        tls.do_handshake()
    return outgoing.read()


def test_real_client_hello_gives_its_sni() -> None:
    hello = client_hello("Blocked.Lab.Censorwatch.Test")
    assert record_complete(hello)
    assert server_name(hello) == "blocked.lab.censorwatch.test"


def test_client_hello_without_sni() -> None:
    assert server_name(client_hello(None)) is None


def test_partial_record_is_not_complete_and_has_no_name() -> None:
    hello = client_hello("a.lab.censorwatch.test")
    assert not record_complete(hello[:40])
    assert server_name(hello[:40]) is None


def test_not_tls_is_complete_at_once() -> None:
    data = b"GET / HTTP/1.1\r\n"
    assert record_complete(data)
    assert server_name(data) is None


@given(st.binary(max_size=600))
def test_hostile_bytes_never_raise(data: bytes) -> None:
    result = server_name(b"\x16\x03\x01" + data)
    assert result is None or isinstance(result, str)


@given(st.integers(min_value=0, max_value=400))
def test_truncated_real_hello_never_raises(cut: int) -> None:
    hello = client_hello("x.lab.censorwatch.test")
    assert server_name(hello[:cut]) in (None, "x.lab.censorwatch.test")
