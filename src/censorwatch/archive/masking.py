"""Masking personal contacts in public views: e-mail addresses and phone numbers of private
persons are hidden; those of official bodies stay readable, by the rule below (also in
docs/archive-store.md, "Private collections and masking").

An e-mail address is official when its domain is one of OFFICIAL_DOMAINS or below one (state
bodies of Russia and China under gov.ru and gov.cn, Russian courts, the .gov and .mil of other
states), when its mailbox is a role of an organisation (ROLE_MAILBOXES: abuse@, noc@, ...: the
address of a function, not of a person), or when it is listed as official by the caller. A phone
number cannot tell whom it belongs to, so every one is masked unless listed as official.

A masked contact keeps its length (each character becomes MASK; the @ of an address stays), so
the offsets of entities found in the text still point at the same places in the masked text.
Masking errs on the side of hiding: a long run of grouped digits that is not a phone may be
masked; an identifier written as one run of digits (INN, OGRN) never is."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

MASK = "█"

OFFICIAL_DOMAINS = frozenset({
    # Russia: federal bodies (rkn.gov.ru, genproc.gov.ru, ...) and those outside gov.ru
    "gov.ru", "kremlin.ru", "government.ru", "mvd.ru", "fsb.ru", "sledcom.ru", "minjust.ru", "nalog.ru",
    "fssp.ru", "rospotrebnadzor.ru", "rkn.ru",
    # Russian courts: every district court is a sudrf.ru host; Moscow's, the arbitration and the top courts
    "sudrf.ru", "msudrf.ru", "mos-gorsud.ru", "mos-sud.ru", "arbitr.ru", "vsrf.ru", "ksrf.ru",
    # China: state bodies under gov.cn (cac.gov.cn, miit.gov.cn, court.gov.cn), the CAC's reporting centre
    "gov.cn", "12377.cn", "chinacourt.org",
    # Other states' governments and intergovernmental bodies
    "gov", "mil", "gov.uk", "gouv.fr", "bund.de", "europa.eu", "un.org",
})

ROLE_MAILBOXES = frozenset({
    "abuse", "noc", "postmaster", "hostmaster", "webmaster", "security", "legal", "dmca", "copyright",
    "press", "zapret-info", "zapret-info-out",
})

_EMAIL = re.compile(r"(?<![\w.+-])[\w.!#$%&'*+/=?^`{|}~-]+@(?:[\w-]+\.)+[\w-]{2,}(?![\w-])")
# Groups of digits joined by spaces, hyphens or brackets, perhaps after a +: dots and slashes are
# left out so that IP addresses, dotted dates and case numbers (2-1066/2016) never match.
_PHONE = re.compile(r"(?<![\w+/])(?<!\d[.-])\+?\(?\d[\d \t\u00a0()\-]{6,}\d(?![\w/]|[.-]\w)")
_DATE_START = re.compile(r"^\d{4}-\d{2}-\d{2}|^\d{2}-\d{2}-\d{4}")
_SEPARATORS = re.compile(r"[ \t\u00a0()\-]+")


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _subscriber(number: str) -> str:
    """The last ten digits: the same number written with its country code (+7, +86) or with a
    trunk prefix (8 in Russia, 0 in China) compares equal."""
    return _digits(number)[-10:]


def looks_like_phone(candidate: str) -> bool:
    """10 to 15 digits, written as a phone number is (a leading +, an area code in brackets, or
    several groups), and not a date."""
    digits = _digits(candidate)
    if not 10 <= len(digits) <= 15 or _DATE_START.match(candidate):
        return False
    if candidate.startswith("+") or "(" in candidate:
        return True
    groups = [group for group in _SEPARATORS.split(candidate) if group]
    return len(groups) >= 3 or (len(groups) == 2 and candidate.startswith("0"))


@dataclass(frozen=True)
class OfficialContacts:
    """What stays readable: OFFICIAL_DOMAINS and ROLE_MAILBOXES, plus addresses, domains and phone
    numbers the caller lists (phones compared by their last ten digits)."""

    domains: frozenset[str] = OFFICIAL_DOMAINS
    addresses: frozenset[str] = frozenset()
    phones: frozenset[str] = frozenset()
    role_mailboxes: frozenset[str] = ROLE_MAILBOXES
    _phone_digits: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_phone_digits", frozenset(_subscriber(phone) for phone in self.phones))

    def with_listed(self, addresses: Iterable[str] = (), phones: Iterable[str] = (),
                    domains: Iterable[str] = ()) -> OfficialContacts:
        return OfficialContacts(self.domains | {d.lower().strip(".") for d in domains},
                                self.addresses | {a.lower() for a in addresses},
                                self.phones | set(phones), self.role_mailboxes)

    def email_is_official(self, address: str) -> bool:
        address = address.strip().lower()
        if address in self.addresses:
            return True
        mailbox, _, domain = address.rpartition("@")
        if not mailbox:
            return False
        labels = domain.rstrip(".").split(".")
        if any(".".join(labels[i:]) in self.domains for i in range(len(labels))):
            return True
        return mailbox in self.role_mailboxes

    def phone_is_official(self, number: str) -> bool:
        digits = _subscriber(number)
        return bool(digits) and digits in self._phone_digits


OFFICIAL = OfficialContacts()


def mask_text(text: str, official: OfficialContacts = OFFICIAL,
              spans: Iterable[tuple[int, int, str]] = ()) -> str:
    """`text` with private e-mail addresses and phone numbers masked, length kept. `spans`
    (start, end, type) are contacts found before (the archive's entities of type email or
    phone): masked as well unless official, so that what the entity finder saw is hidden even
    where these patterns would not have matched it."""
    chars = list(text)

    def blank(start: int, end: int, kind: str) -> None:
        for position in range(max(start, 0), min(end, len(chars))):
            char = chars[position]
            if (kind == "email" and char != "@") or (kind == "phone" and char.isdigit()):
                chars[position] = MASK

    for match in _EMAIL.finditer(text):
        if not official.email_is_official(match.group()):
            blank(match.start(), match.end(), "email")
    for match in _PHONE.finditer(text):
        if looks_like_phone(match.group()) and not official.phone_is_official(match.group()):
            blank(match.start(), match.end(), "phone")
    for start, end, kind in spans:
        if kind in ("email", "phone") and is_private_contact(kind, text[start:end], official):
            blank(start, end, kind)
    return "".join(chars)


def is_private_contact(kind: str, value: str, official: OfficialContacts = OFFICIAL) -> bool:
    """Whether an entity (type, value) is a private person's contact, to be masked in public."""
    if kind == "email":
        return not official.email_is_official(value)
    if kind == "phone":
        return not official.phone_is_official(value)
    return False


def mask_value(kind: str, value: str, official: OfficialContacts = OFFICIAL) -> str:
    """An entity's value or text as a public view shows it."""
    if not is_private_contact(kind, value, official):
        return value
    if kind == "email":
        return "".join(ch if ch == "@" else MASK for ch in value)
    return "".join(MASK if ch.isdigit() else ch for ch in value)
