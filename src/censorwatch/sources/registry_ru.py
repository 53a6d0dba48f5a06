"""Readers for the dumps of Russia's register of blocked resources as zapret-info/z-i publishes
them: `dump.csv` (2016 layout) and `dump-NN.csv` (modern, one snapshot split over files), both
windows-1251, `;`-separated, first line `Updated: <time>`; and `nxdomain.txt`, one domain per
line. Lines are read one at a time; a broken line is counted with its reason and skipped.

Line layout: `ips;domain;urls;authority;decision;date`. URLs are not escaped: a `;` inside a
URL makes the line longer, so the first two fields are taken from the left, the last three
from the right and the URL field is what lies between."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TypeVar

from censorwatch.model.registry import (
    DUMP,
    NXDOMAIN,
    Domain,
    NormaliseError,
    RegistryEntry,
    address_text,
    canonical_url,
    normalise_domain,
    normalise_subnet,
)

_UPDATED = re.compile(r"^Updated:\s*(.+?)\s*$")
_DATE_IN_NAME = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})")
_URL_SEPARATOR = re.compile(r"\s+\|\s+")
_MAX_EXAMPLES = 20
T = TypeVar("T")


class RegistryFormatError(ValueError):
    """A file that is not a register dump at all (not one line could be read as one)."""


@dataclass
class ReadStats:
    """What a reader saw: entries read, lines skipped by reason, and the first few examples."""

    entries: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    def skip(self, reason: str, where: str) -> None:
        self.skipped[reason] += 1
        if len(self.examples) < _MAX_EXAMPLES:
            self.examples.append(f"{where}: {reason}")

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def merge(self, other: ReadStats) -> None:
        self.entries += other.entries
        self.skipped.update(other.skipped)
        room = _MAX_EXAMPLES - len(self.examples)
        self.examples.extend(other.examples[: max(room, 0)])


def decode_line(raw: bytes) -> str:
    """Mirrors re-encode the dumps; take UTF-8 when the bytes are valid UTF-8, else
    windows-1251 (Cyrillic in windows-1251 is practically never valid UTF-8)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1251", errors="replace")


def parse_updated(text: str) -> datetime | None:
    """`Updated: 2016-06-06 19:00:02 +0000` -> an aware datetime in UTC."""
    match = _UPDATED.match(text)
    if not match:
        return None
    value = match.group(1)
    for layout in ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"):
        try:
            parsed = datetime.strptime(value, layout)
        except ValueError:
            continue
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    return None


def date_in_name(path: Path) -> date | None:
    match = _DATE_IN_NAME.search(path.name)
    if not match:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def _clean(value: str) -> str | None:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1].replace('""', '"').strip()
    return value or None


def _addresses(field_text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    ips: list[str] = []
    subnets: list[str] = []
    for part in field_text.split("|"):
        part = part.strip()
        if not part:
            continue
        if "/" in part:
            subnets.append(str(normalise_subnet(part)))
        else:
            ips.append(address_text(part))
    return tuple(dict.fromkeys(ips)), tuple(dict.fromkeys(subnets))


def _urls(field_text: str) -> tuple[str, ...]:
    whole = _clean(field_text)
    if not whole:
        return ()
    urls = []
    for part in _URL_SEPARATOR.split(whole):
        cleaned = _clean(part)
        if cleaned:
            urls.append(canonical_url(cleaned))
    return tuple(dict.fromkeys(urls))


def _decision_date(text: str | None) -> date:
    if text is None:
        raise NormaliseError("no decision date")
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise NormaliseError(f"bad decision date {text!r}") from error


def parse_dump_line(line: str) -> RegistryEntry:
    """One data line of dump.csv; NormaliseError says why a line cannot be read."""
    fields = line.split(";")
    if len(fields) < 6:
        raise NormaliseError(f"{len(fields)} fields, expected 6")
    ip_field, domain_field = fields[0], _clean(fields[1])
    authority, decision, when = _clean(fields[-3]), _clean(fields[-2]), _clean(fields[-1])
    decision_date = _decision_date(when) if when else None
    ips, subnets = _addresses(ip_field)
    domains: tuple[Domain, ...] = (normalise_domain(domain_field),) if domain_field else ()
    urls = _urls(";".join(fields[2:-3]))
    if not (ips or subnets or domains or urls):
        raise NormaliseError("names nothing")
    return RegistryEntry(
        ips=ips,
        subnets=subnets,
        domains=domains,
        urls=urls,
        authority=authority,
        decision=decision,
        decision_date=decision_date,
        list_name=DUMP,
    )


class RegisterFile:
    """What every reader has: its path, the register's own time once read, and its counts."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.updated: datetime | None = None
        self.stats = ReadStats()

    def _read(self, items: Iterable[tuple[int, T]], parse: Callable[[T], RegistryEntry]) -> Iterator[RegistryEntry]:
        """Parse each (line number, raw item); a NormaliseError is counted with where it happened."""
        for number, item in items:
            try:
                entry = parse(item)
            except NormaliseError as error:
                self.stats.skip(str(error), f"{self.path.name}:{number}")
                continue
            self.stats.entries += 1
            yield entry


class DumpCsv(RegisterFile):
    """One `dump.csv`/`dump-NN.csv`. `updated` is known after the first line is read."""

    def read_header(self) -> datetime | None:
        with self.path.open("rb") as handle:
            first = handle.readline()
        self.updated = parse_updated(decode_line(first).strip("\r\n\ufeff"))
        return self.updated

    def entries(self) -> Iterator[RegistryEntry]:
        yield from self._read(self._lines(), parse_dump_line)

    def _lines(self) -> Iterator[tuple[int, str]]:
        with self.path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                line = decode_line(raw).rstrip("\r\n")
                if number == 1:
                    line = line.lstrip("\ufeff")
                    updated = parse_updated(line)
                    if updated is not None:
                        self.updated = updated
                        continue
                if line.strip():
                    yield number, line


class NxdomainTxt(RegisterFile):
    """`nxdomain.txt`: domains of the register that do not resolve. It carries no date."""

    def entries(self) -> Iterator[RegistryEntry]:
        yield from self._read(self._lines(), _nxdomain_entry)

    def _lines(self) -> Iterator[tuple[int, str]]:
        with self.path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                text = decode_line(raw).strip().lstrip("\ufeff")
                if text and not text.startswith("#"):
                    yield number, text


def _nxdomain_entry(text: str) -> RegistryEntry:
    return RegistryEntry(domains=(normalise_domain(text),), list_name=NXDOMAIN)


def is_nxdomain_file(path: Path) -> bool:
    return path.name.lower().startswith("nxdomain")


def is_xml_file(path: Path) -> bool:
    if path.suffix.lower() == ".xml":
        return True
    with path.open("rb") as handle:
        return handle.read(64).lstrip(b"\xef\xbb\xbf \r\n\t").startswith(b"<?xml")
