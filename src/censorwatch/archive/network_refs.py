"""Network identifiers in text: URLs, domains, IP addresses, e-mail addresses and phone numbers,
each in the normal form the rest of censorwatch compares them in (censorwatch.model.registry):
URLs canonical with a lower-case punycode host, domains lower-case punycode, addresses as Python's
ipaddress writes them. One normal form for the register, the measurements and the documents is
what lets a target's page list the documents that name it."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

from censorwatch.archive.domains import domain_value, plausible_domain
from censorwatch.archive.model import Entity
from censorwatch.model.registry import NormaliseError, canonical_url

# Up to the first space or character a URL cannot hold literally and texts put around one.
_URL = re.compile(r"\bhttps?://[^\s<>\"'«»“”„\[\]{}|\\^`]+", re.IGNORECASE)
_TRAILING = ".,;:!?…'\""
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]++@((?:[\w-]+\.)+[\w-]{2,63})(?![\w-])")
# Dotted words only (possessive: a word without a dot fails at once); labels checked after.
_DOMAIN = re.compile(r"(?<![\w@./\\-])([\w-]++(?:\.[\w-]++)+)\.?(?![\w-]|\.\w)")
# Four parts of one to three digits, not a piece of a longer dotted number (1.2.3.4.5, v1.2.3.4).
_IPV4 = re.compile(r"(?<![\w.])(\d{1,3}(?:\.\d{1,3}){3})(?:/(\d{1,2}))?(?!\w|\.\d)")
_IPV6 = re.compile(r"(?<![\w:.])((?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{0,4}|\d{1,3}(?:\.\d{1,3}){3}))(?![\w:])")

_SEPARATOR = r"[ \t\-.]?"
_PHONES = (
    # +7 (495) 123-45-67, +44 20 7946 0958: a country code, then groups of digits.
    (re.compile(r"(?<![\w+])\+\d{1,3}(?:[ \t.\-]?\(?\d{1,4}\)?){2,6}(?![\w])"), None),
    # 8 (495) 123-45-67, 8-800-123-45-67: Russia's trunk prefix, read as +7.
    (re.compile(rf"(?<![\w+])8{_SEPARATOR}\(?\d{{3}}\)?{_SEPARATOR}\d{{3}}{_SEPARATOR}\d{{2}}{_SEPARATOR}\d{{2}}(?!\w)"),
     "+7"),
    # (495) 123-45-67, 123-456-4874: no country, kept as digits.
    (re.compile(r"(?<![\w+.\-])\(\d{3,5}\)[ \t]?\d{1,3}-?\d{2}-?\d{2}(?![\w\-])"), ""),
    (re.compile(r"(?<![\w+./\-])\(?\d{3}\)?[-. \t]\d{3}-\d{4}(?![\w\-/])"), ""),
)


def _trim_url(text: str) -> str:
    while text and (text[-1] in _TRAILING or (text[-1] == ")" and text.count("(") < text.count(")"))):
        text = text[:-1]
    return text


def _host_span(url: str) -> tuple[int, int]:
    start = url.index("://") + 3
    end = start
    while end < len(url) and url[end] not in "/?#":
        end += 1
    netloc = url[start:end]
    if "@" in netloc:
        start += netloc.rindex("@") + 1
        netloc = url[start:end]
    if netloc.startswith("["):
        return start + 1, start + netloc.find("]")
    if ":" in netloc:
        end = start + netloc.index(":")
    return start, end


def _last_separator(text: str) -> int:
    return max(text.rfind(char) for char in " \t.-(")


def ip_value(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def find_urls(text: str) -> Iterator[Entity]:
    """URLs, and the domain or address each one's host names (spans nested in the URL's)."""
    if "://" not in text:
        return
    for match in _URL.finditer(text):
        written = _trim_url(match.group())
        try:
            value = canonical_url(written)
        except (NormaliseError, ValueError):
            continue
        start = match.start()
        yield Entity("url", value, written, start, start + len(written))
        host_start, host_end = _host_span(written)
        host = written[host_start:host_end].rstrip(".")
        address = ip_value(host)
        if address:
            yield Entity("ip", address, host, start + host_start, start + host_start + len(host))
        elif plausible_domain(host, bare=False) and (normal := domain_value(host)):
            yield Entity("domain", normal, host, start + host_start, start + host_start + len(host))


def find_emails(text: str) -> Iterator[Entity]:
    if "@" not in text:
        return
    for match in _EMAIL.finditer(text):
        local, _, domain = match.group().rpartition("@")
        if local.startswith(".") or not plausible_domain(domain, bare=False):
            continue
        normal = domain_value(domain)
        if normal:
            yield Entity("email", f"{local.lower()}@{normal}", match.group(), match.start(), match.end())


def find_domains(text: str) -> Iterator[Entity]:
    """Domains written on their own (`eais.rkn.gov.ru`); those inside URLs come from find_urls."""
    if "." not in text:
        return
    for match in _DOMAIN.finditer(text):
        name = match.group(1)
        if plausible_domain(name) and (normal := domain_value(name)):
            yield Entity("domain", normal, name, match.start(1), match.end(1))


def find_addresses(text: str) -> Iterator[Entity]:
    if "." not in text and ":" not in text:
        return
    for match in _IPV4.finditer(text):
        address, prefix = match.group(1), match.group(2)
        value = ip_value(address)
        if value is None:
            continue
        if prefix is not None:
            try:
                value = str(ipaddress.ip_network(f"{address}/{prefix}"))
            except ValueError:
                yield Entity("ip", value, address, match.start(1), match.end(1))
                continue
        yield Entity("ip", value, match.group(), match.start(), match.end())
    if text.count(":") < 2:
        return
    for match in _IPV6.finditer(text):
        written = match.group(1)
        if not any(char.isalnum() for char in written):
            continue
        try:
            value = ipaddress.IPv6Address(written).compressed
        except ValueError:
            continue
        yield Entity("ip", value, written, match.start(1), match.end(1))


def find_phones(text: str) -> Iterator[Entity]:
    """Phone numbers, kept to mask private persons' numbers later: E.164 (`+74951234567`) where
    the country is known, the digits alone where it is not."""
    for (pattern, country), needle in zip(_PHONES, ("+", "8", "(", "-"), strict=True):
        if needle not in text:
            continue
        for match in pattern.finditer(text):
            written = match.group()
            if country is None:
                # A year or a count may follow the number: drop trailing groups until it fits E.164.
                while len(re.sub(r"\D", "", written)) > 15 and (cut := _last_separator(written)) > 0:
                    written = written[:cut]
            digits = re.sub(r"\D", "", written)
            if digits == written.lstrip("+") and country == "+7":
                continue  # eleven bare digits starting with 8 are likelier an account than a phone
            if country is None:
                if not 10 <= len(digits) <= 15:
                    continue
                value = "+" + digits
            elif country:
                value = country + digits[1:]
            else:
                value = digits
            yield Entity("phone", value, written, match.start(), match.start() + len(written))
