"""Register entries (Russia's register of blocked resources) and the normal forms they are
compared in: domains in lower-case punycode (with the unicode form kept for people), canonical
URLs, IP addresses and subnets as Python's ipaddress objects render them."""

from __future__ import annotations

import hashlib
import html
import ipaddress
import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property, lru_cache
from urllib.parse import SplitResult, urlsplit, urlunsplit

DUMP = "dump"
NXDOMAIN = "nxdomain"

_DEFAULT_PORTS = {"http": 80, "https": 443}
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# Characters a URL may carry literally (RFC 3986 reserved + unreserved); anything else is escaped.
_URL_SAFE = frozenset(_UNRESERVED | set(":/?#[]@!$&'()*+,;=%"))


class NormaliseError(ValueError):
    """A value that is not a domain, URL or address."""


@dataclass(frozen=True)
class Domain:
    ascii: str
    unicode: str
    wildcard: bool

    @property
    def text(self) -> str:
        return f"*.{self.ascii}" if self.wildcard else self.ascii


def _label_to_ascii(label: str) -> str:
    if label.isascii():
        return label
    try:
        return "xn--" + label.encode("punycode").decode("ascii")
    except UnicodeError as error:
        raise NormaliseError(f"not an internationalised label: {label!r}") from error


def _label_to_unicode(label: str) -> str:
    if label.startswith("xn--"):
        try:
            return label[4:].encode("ascii").decode("punycode")
        except UnicodeError:
            return label
    return label


@lru_cache(maxsize=1 << 16)
def normalise_domain(text: str) -> Domain:
    """`*.Пример.РФ.` -> Domain("xn--e1afmkfd.xn--p1ai", "пример.рф", wildcard=True).

    Labels are converted one by one with plain punycode rather than IDNA 2008: register entries
    hold names IDNA would reject (underscores, emoji, over-long labels) and must still match."""
    value = text.strip().rstrip(".").lower()
    wildcard = value.startswith("*.")
    if wildcard:
        value = value[2:]
    if not value or any(ch.isspace() for ch in value) or "/" in value or ".." in value:
        raise NormaliseError(f"not a domain: {text!r}")
    labels = value.split(".")
    ascii_labels = [_label_to_ascii(label) for label in labels]
    unicode_labels = [_label_to_unicode(label) for label in ascii_labels]
    return Domain(".".join(ascii_labels), ".".join(unicode_labels), wildcard)


def _normalise_escapes(part: str) -> str:
    def fix(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else "%" + match.group(1).upper()

    decoded = _PERCENT.sub(fix, part)
    out = []
    for char in decoded:
        if char in _URL_SAFE:
            out.append(char)
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8"))
    return "".join(out)


def canonical_url(text: str) -> str:
    """RFC 3986 normal form: lower-case scheme and host (punycode), no default port, no
    fragment, `/` for an empty path, percent escapes upper-case, unreserved characters
    decoded, everything else outside ASCII escaped as UTF-8. HTML entities the register
    copies from its XML (`&amp;`) are decoded first."""
    value = html.unescape(text.strip())
    if "://" not in value:
        value = "http://" + value
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as error:
        raise NormaliseError(f"not a URL: {text!r}") from error
    scheme = parts.scheme.lower()
    if not parts.hostname:
        raise NormaliseError(f"URL without a host: {text!r}")
    host = normalise_domain(parts.hostname).ascii if not _is_ip_literal(parts.hostname) else parts.hostname
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None or _DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    path = _normalise_escapes(parts.path) or "/"
    return urlunsplit(SplitResult(scheme, netloc, path, _normalise_escapes(parts.query), ""))


def url_host(url: str) -> str | None:
    """The host of a canonical URL (as canonical_url writes it)."""
    host = urlsplit(url).hostname
    return host or None


def _is_ip_literal(host: str) -> bool:
    if ":" not in host and not host[-1:].isdigit():
        return False
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def normalise_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError as error:
        raise NormaliseError(f"not an IP address: {text!r}") from error


@lru_cache(maxsize=1 << 16)
def address_text(text: str) -> str:
    """normalise_address as text; cached because hosting addresses (CDNs) repeat on many lines."""
    return str(normalise_address(text))


def normalise_subnet(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        # strict=False: the register writes subnets like 1.2.3.4/24 with host bits set.
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError as error:
        raise NormaliseError(f"not a subnet: {text!r}") from error


@dataclass(frozen=True)
class RegistryEntry:
    """One line of a dump (or one <content> of dump.xml), normalised. `key` identifies the
    entry across snapshots (the order and what it names); `digest` identifies its exact content,
    so a key whose addresses change between snapshots is a *changed* entry."""

    ips: tuple[str, ...] = ()
    subnets: tuple[str, ...] = ()
    domains: tuple[Domain, ...] = ()
    urls: tuple[str, ...] = ()
    authority: str | None = None
    decision: str | None = None
    decision_date: date | None = None
    content_id: int | None = None
    include_time: datetime | None = None
    block_type: str | None = None
    list_name: str = DUMP

    @cached_property
    def key(self) -> str:
        if self.content_id is not None:
            return _digest(["id", str(self.content_id)])
        names = [*sorted(d.text for d in self.domains), *sorted(self.urls)]
        if not names:
            # An IP-only order: its addresses are what it names.
            names = ["ip", *sorted(self.ips), *sorted(self.subnets)]
        order = [self.list_name, self.authority or "", self.decision or "", str(self.decision_date or "")]
        return _digest([*order, *names])

    @cached_property
    def digest(self) -> str:
        return _digest(
            [
                self.key,
                *sorted(self.ips),
                "/",
                *sorted(self.subnets),
                "/",
                *sorted(d.text for d in self.domains),
                *sorted(self.urls),
                self.block_type or "",
            ]
        )


def _digest(parts: list[str]) -> str:
    return hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=12).hexdigest()
