"""Normal forms of register names: domains (IDN both ways, wildcards), canonical URLs, addresses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from censorwatch.model.registry import (
    NormaliseError,
    RegistryEntry,
    canonical_url,
    normalise_domain,
    normalise_subnet,
)


@pytest.mark.parametrize(
    ("text", "ascii_form", "unicode_form", "wildcard"),
    [
        ("Example.COM", "example.com", "example.com", False),
        ("example.com.", "example.com", "example.com", False),
        ("76автобар.рф", "xn--76-8kcaef8fsao.xn--p1ai", "76автобар.рф", False),
        ("xn--76-8kcaef8fsao.xn--p1ai", "xn--76-8kcaef8fsao.xn--p1ai", "76автобар.рф", False),
        ("*.Казино.РФ", "xn--80aodfsg.xn--p1ai", "казино.рф", True),
        ("*.bet365.com", "bet365.com", "bet365.com", True),
        ("under_score.example.org", "under_score.example.org", "under_score.example.org", False),
    ],
)
def test_domains_in_both_forms(text: str, ascii_form: str, unicode_form: str, wildcard: bool) -> None:
    domain = normalise_domain(text)
    assert (domain.ascii, domain.unicode, domain.wildcard) == (ascii_form, unicode_form, wildcard)
    assert domain.text == ("*." if wildcard else "") + ascii_form


@pytest.mark.parametrize("text", ["", "  ", "a b.com", "http://x.com/", "a..b"])
def test_not_domains(text: str) -> None:
    with pytest.raises(NormaliseError):
        normalise_domain(text)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("HTTP://Example.COM", "http://example.com/"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:443/a?b=1#frag", "https://example.com/a?b=1"),
        ("https://example.com:8443/", "https://example.com:8443/"),
        ("http://x.ru/?a_aid=1&amp;a_bid=2", "http://x.ru/?a_aid=1&a_bid=2"),
        ("http://legalc.biz/купить", "http://legalc.biz/%D0%BA%D1%83%D0%BF%D0%B8%D1%82%D1%8C"),
        ("http://legalc.biz/%d0%ba%d1%83%d0%bf%d0%b8%d1%82%d1%8c", "http://legalc.biz/%D0%BA%D1%83%D0%BF%D0%B8%D1%82%D1%8C"),
        ("http://x.com/%7Euser/%2F", "http://x.com/~user/%2F"),
        ("http://76автобар.рф", "http://xn--76-8kcaef8fsao.xn--p1ai/"),
        ("http://mirror130.graniru.info/&#8203;", "http://mirror130.graniru.info/%E2%80%8B"),
        ("example.com/page", "http://example.com/page"),
        ("http://[2001:DB8::1]:8080/x", "http://[2001:db8::1]:8080/x"),
        ("http://forumkavkaz.com/index.php?topic=4931.25;wap2", "http://forumkavkaz.com/index.php?topic=4931.25;wap2"),
    ],
)
def test_canonical_urls(text: str, canonical: str) -> None:
    assert canonical_url(text) == canonical
    assert canonical_url(canonical) == canonical


@pytest.mark.parametrize("text", ["http://", "http://x.com:99999/", "http:///path"])
def test_not_urls(text: str) -> None:
    with pytest.raises(NormaliseError):
        canonical_url(text)


def test_subnets_with_host_bits_are_normalised() -> None:
    assert str(normalise_subnet("1.2.3.4/24")) == "1.2.3.0/24"
    assert str(normalise_subnet("2a06:98c1:3122:e000::1/56")) == "2a06:98c1:3122:e000::/56"


def test_key_ignores_addresses_and_digest_does_not() -> None:
    domain = normalise_domain("example.com")
    first = RegistryEntry(ips=("1.1.1.1",), domains=(domain,), authority="суд", decision="2-1/2016")
    second = RegistryEntry(ips=("1.1.1.1", "2.2.2.2"), domains=(domain,), authority="суд", decision="2-1/2016")
    assert first.key == second.key
    assert first.digest != second.digest
    ip_only = RegistryEntry(ips=("1.1.1.1",), authority="суд", decision="2-1/2016")
    other_ip = RegistryEntry(ips=("2.2.2.2",), authority="суд", decision="2-1/2016")
    assert ip_only.key != other_ip.key


@given(st.text(max_size=80))
def test_canonical_url_is_idempotent_or_refuses(text: str) -> None:
    try:
        once = canonical_url(text)
    except NormaliseError:
        return
    assert canonical_url(once) == once
