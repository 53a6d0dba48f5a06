"""Reader for the operators' register dump `dump.xml` (Roskomnadzor's export for ISPs):

    <reg:register updateTime="2016-06-06T19:00:02+03:00" formatVersion="2.4">
      <content id="114111" includeTime="2014-11-12T22:04:31" entryType="1" blockType="domain">
        <decision date="2014-11-05" number="2/1/11-28574" org="ФСКН"/>
        <domain>legalrc.biz</domain> <url>http://...</url> <ip>1.2.3.4</ip> <ipSubnet>1.2.3.0/24</ipSubnet>
        <ipv6>...</ipv6> <ipv6Subnet>...</ipv6Subnet>
      </content> ...

Parsed with expat in 64 KiB chunks, one <content> held at a time. A document type declaration
is refused: a register has none, and entity declarations are how XML bombs work."""

from __future__ import annotations

import xml.parsers.expat
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timezone

from censorwatch.model.registry import (
    DUMP,
    NormaliseError,
    RegistryEntry,
    address_text,
    canonical_url,
    normalise_domain,
    normalise_subnet,
)
from censorwatch.sources.registry_ru import RegisterFile, RegistryFormatError

_CHUNK = 64 * 1024
_TEXT_ELEMENTS = {"url", "domain", "ip", "ipSubnet", "ipv6", "ipv6Subnet", "domainMask"}


def parse_xml_time(text: str | None) -> datetime | None:
    """ISO times; the register writes Moscow time with an offset, includeTime without one
    (taken as Moscow time, UTC+3, as the operators' guide says)."""
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone(_MOSCOW))
    return parsed.astimezone(UTC)


_MOSCOW = datetime(2000, 1, 1, 3) - datetime(2000, 1, 1, 0)


@dataclass
class _Content:
    attributes: dict[str, str]
    line: int
    decision: dict[str, str] = field(default_factory=dict)
    values: dict[str, list[str]] = field(default_factory=dict)


def _content_entry(content: _Content) -> RegistryEntry:
    raw_id = content.attributes.get("id")
    try:
        content_id = int(raw_id) if raw_id is not None else None
    except ValueError as error:
        raise NormaliseError(f"content id {raw_id!r} is not a number") from error
    values = content.values
    ips = [address_text(v) for v in values.get("ip", []) + values.get("ipv6", [])]
    subnets = [str(normalise_subnet(v)) for v in values.get("ipSubnet", []) + values.get("ipv6Subnet", [])]
    names = values.get("domain", []) + values.get("domainMask", [])
    domains = [normalise_domain(v) for v in names if v.strip()]
    urls = [canonical_url(v) for v in values.get("url", []) if v.strip()]
    if not (ips or subnets or domains or urls):
        raise NormaliseError("content names nothing")
    when = content.decision.get("date")
    try:
        decision_date = date.fromisoformat(when) if when else None
    except ValueError as error:
        raise NormaliseError(f"bad decision date {when!r}") from error
    return RegistryEntry(
        ips=tuple(dict.fromkeys(ips)),
        subnets=tuple(dict.fromkeys(subnets)),
        domains=tuple(dict.fromkeys(domains)),
        urls=tuple(dict.fromkeys(urls)),
        authority=(content.decision.get("org") or "").strip() or None,
        decision=(content.decision.get("number") or "").strip() or None,
        decision_date=decision_date,
        content_id=content_id,
        include_time=parse_xml_time(content.attributes.get("includeTime")),
        block_type=content.attributes.get("blockType") or "default",
        list_name=DUMP,
    )


class DumpXml(RegisterFile):
    """One dump.xml. `updated` (the register's updateTime) is known once the root is read."""

    def read_header(self) -> datetime | None:
        for _ in self._events(stop_after_root=True):
            pass
        return self.updated

    def entries(self) -> Iterator[RegistryEntry]:
        contents = ((content.line, content) for content in self._events(stop_after_root=False))
        yield from self._read(contents, _content_entry)

    def _events(self, stop_after_root: bool) -> Iterator[_Content]:
        parser = xml.parsers.expat.ParserCreate()
        ready: list[_Content] = []
        current: _Content | None = None
        text: list[str] = []
        seen_root = False

        def refuse_doctype(*_: object) -> None:
            raise RegistryFormatError(f"{self.path}: a document type declaration is not allowed in a register dump")

        def start(name: str, attributes: dict[str, str]) -> None:
            nonlocal current, seen_root
            local = name.rsplit(":", 1)[-1]
            if not seen_root:
                seen_root = True
                if local != "register":
                    raise RegistryFormatError(f"{self.path}: root element is <{name}>, not <reg:register>")
                self.updated = parse_xml_time(attributes.get("updateTime"))
            elif local == "content":
                current = _Content(dict(attributes), parser.CurrentLineNumber)
            elif current is not None and local == "decision":
                current.decision = dict(attributes)
            text.clear()

        def end(name: str) -> None:
            nonlocal current
            local = name.rsplit(":", 1)[-1]
            if current is None:
                return
            if local == "content":
                ready.append(current)
                current = None
            elif local in _TEXT_ELEMENTS:
                current.values.setdefault(local, []).append("".join(text).strip())
            text.clear()

        parser.StartDoctypeDeclHandler = refuse_doctype
        parser.EntityDeclHandler = refuse_doctype
        parser.StartElementHandler = start
        parser.EndElementHandler = end
        parser.CharacterDataHandler = text.append
        parser.buffer_text = True
        with self.path.open("rb") as handle:
            while True:
                chunk = handle.read(_CHUNK)
                try:
                    parser.Parse(chunk, not chunk)
                except xml.parsers.expat.ExpatError as error:
                    # Everything before the damage has been read; the rest cannot be.
                    yield from ready
                    self.stats.skip(f"XML broken, rest of file unreadable: {error}", self.path.name)
                    return
                yield from ready
                ready.clear()
                if stop_after_root and seen_root:
                    return
                if not chunk:
                    break
        if not seen_root:
            raise RegistryFormatError(f"{self.path}: empty XML document")
