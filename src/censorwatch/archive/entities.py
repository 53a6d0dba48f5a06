"""Entities in a text: every finder runs, then overlaps are settled by type priority, so a date
inside a URL or a case number inside a decision number is not reported twice.

Types and values (docs/archive.md, "Entities"): url, domain, ip, email, phone, date, record,
decision, case, law, agency; each value in one normal form whatever the spelling."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator

from censorwatch.archive.agencies import find_agencies
from censorwatch.archive.date_refs import find_dates
from censorwatch.archive.domains import domain_value
from censorwatch.archive.legal_refs import find_cases, find_decisions, find_laws, find_records
from censorwatch.archive.model import ENTITY_TYPES, Entity
from censorwatch.archive.network_refs import (
    find_addresses,
    find_domains,
    find_emails,
    find_phones,
    find_urls,
)

# Highest first: the more specific reading of a stretch of text wins.
_FINDERS: tuple[Callable[[str], Iterator[Entity]], ...] = (
    find_emails,
    find_decisions,
    find_cases,
    find_records,
    find_laws,
    find_addresses,
    find_dates,
    find_phones,
    find_agencies,
    find_domains,
)


def _overlaps(entity: Entity, taken: list[tuple[int, int]]) -> bool:
    # `taken` holds disjoint spans in order: only the neighbours of the new one can overlap it.
    index = bisect.bisect_left(taken, (entity.start, entity.end))
    before = index > 0 and taken[index - 1][1] > entity.start
    after = index < len(taken) and taken[index][0] < entity.end
    return before or after


def _settle(candidates: Iterable[Entity], taken: list[tuple[int, int]]) -> list[Entity]:
    kept = []
    for entity in sorted(candidates, key=lambda found: (found.start, found.start - found.end)):
        if not _overlaps(entity, taken):
            kept.append(entity)
            bisect.insort(taken, (entity.start, entity.end))
    return kept


def find_entities(text: str) -> list[Entity]:
    """Typed, normalised mentions in `text`, ordered by position. A URL's host is reported as a
    domain (or IP) nested in the URL; every other pair of entities is disjoint."""
    found: list[Entity] = []
    taken: list[tuple[int, int]] = []
    for entity in find_urls(text):
        found.append(entity)
        if entity.type == "url":
            taken.append((entity.start, entity.end))  # URLs come in order and never overlap
    for finder in _FINDERS:
        found.extend(_settle(finder(text), taken))
    return sorted(found, key=lambda entity: (entity.start, -entity.end, entity.type))


def normalise_entity_value(entity_type: str, text: str) -> str:
    """`text` in the normal form of `entity_type` (for search filters such as "law:149-фз"):
    what find_entities makes of it when it reads it as that type, else the text as given."""
    if entity_type not in ENTITY_TYPES:
        raise ValueError(f"unknown entity type {entity_type!r}; known: {', '.join(ENTITY_TYPES)}")
    stripped = text.strip()
    for entity in find_entities(stripped):
        if entity.type == entity_type and entity.start == 0 and entity.end == len(stripped):
            return entity.value
    if entity_type == "domain":
        return domain_value(stripped) or stripped
    return stripped
