"""Document text cut into pieces for the archive's pages: a snippet at its highlighted matches, a
page at its entities. Pieces stay plain text, each with what it is; the templates insert them
as text (autoescaped) inside <mark> or <a>, so hostile document text never becomes markup and
no HTML is ever built here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from censorwatch.archive.masking import MASK

NETWORK_TYPES = ("url", "domain", "ip")
# Phones are not in the index's entity field (docs/archive.md), so a search for one finds nothing.
_UNSEARCHABLE = frozenset({"phone"})
TYPE_ORDER = ("url", "domain", "ip", "record", "decision", "case", "law", "agency", "date", "email", "phone")
TYPE_NAMES = {
    "url": "URLs", "domain": "Domains", "ip": "IP addresses", "record": "Register records",
    "decision": "Decisions", "case": "Court cases", "law": "Laws", "agency": "Agencies and courts",
    "date": "Dates", "email": "E-mail addresses", "phone": "Phone numbers",
}


def marked(text: str, spans: Iterable[Sequence[int]]) -> list[tuple[str, bool]]:
    """`text` as (piece, highlighted) pairs, in order; ranges out of bounds are clipped and a
    range overlapping the one before it continues it."""
    pieces: list[tuple[str, bool]] = []
    position = 0
    for start, end in sorted((max(0, s), min(len(text), e)) for s, e in spans):
        start = max(start, position)
        if end <= start:
            continue
        if start > position:
            pieces.append((text[position:start], False))
        pieces.append((text[start:end], True))
        position = end
    if position < len(text) or not pieces:
        pieces.append((text[position:], False))
    return pieces


def entity_href(kind: str, value: str) -> str | None:
    """Where an entity leads: a site, page or address to its target page (measurements, register,
    documents); anything else to the documents naming the same entity. A masked contact leads
    nowhere."""
    if MASK in value:
        return None
    if kind in NETWORK_TYPES:
        return "/target?" + urlencode({"t": value})
    if kind in _UNSEARCHABLE:
        return None
    return "/archive?" + urlencode({"entity": f"{kind}:{value}"})


def grouped(entities: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A document's entities ({type, value, mentions, pages}) by type, in TYPE_ORDER, each with
    its link."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for entity in entities:
        groups.setdefault(str(entity["type"]), []).append(
            {**entity, "href": entity_href(str(entity["type"]), str(entity["value"]))})
    order = [kind for kind in TYPE_ORDER if kind in groups] + sorted(set(groups) - set(TYPE_ORDER))
    return [{"type": kind, "name": TYPE_NAMES.get(kind, kind), "entities": groups[kind]} for kind in order]


def segments(text: str, mentions: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A page's text cut at its entities ({type, value, start, end}): pieces of plain text and
    entity pieces with `type`, `value` and `href`. An entity inside another (a URL's host) stays
    inside the outer one: links do not nest."""
    pieces: list[dict[str, Any]] = []
    position = 0
    ordered = sorted(mentions, key=lambda m: (int(m["start"]), -int(m["end"])))
    for mention in ordered:
        start, end = int(mention["start"]), int(mention["end"])
        if start < position or end <= start or end > len(text):
            continue
        if start > position:
            pieces.append({"text": text[position:start]})
        kind, value = str(mention["type"]), str(mention["value"])
        pieces.append({"text": text[start:end], "type": kind, "value": value, "href": entity_href(kind, value)})
        position = end
    if position < len(text):
        pieces.append({"text": text[position:]})
    return pieces
