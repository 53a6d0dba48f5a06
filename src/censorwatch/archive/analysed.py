"""Extraction and text analysis (languages, entities) in one call, run by the extractor's worker
processes (IsolatedExtractor's `target`), and read back by ingest.

Why in the workers: language identification and entity patterns cost some 10 ms per page of
CPU, which in the process that writes the store made it the bottleneck (600 short notices: 8 of
12 s), and a pattern that backtracks on hostile text is then bounded by the worker's timeout
instead of stalling the run. The entities travel in the Extracted's metadata under ENTITIES_KEY
(the wire format carries text only), and the parent checks them as it checks any reply from a
process a hostile file may have taken over: a malformed list fails that document."""

from __future__ import annotations

from dataclasses import dataclass, replace

import orjson

from censorwatch.archive.entities import find_entities
from censorwatch.archive.extract import extract
from censorwatch.archive.language import UNDETERMINED, document_language, with_languages
from censorwatch.archive.model import ENTITY_TYPES, Entity, Extracted, TextPart

TARGET = "censorwatch.archive.analysed:extract_analysed"
ENTITIES_KEY = "censorwatch.entities"  # a dot: no metadata key of the extractors has one
_MAX_LANGUAGE = 16


def extract_analysed(data: bytes, name: str, *, ocr: bool = True) -> Extracted:
    extracted = extract(data, name, ocr=ocr)
    parts = with_languages(extracted.parts)
    found = [[part.number, e.type, e.value, e.text, e.start, e.end]
             for part in parts for e in find_entities(part.text)]
    return replace(extracted, parts=parts,
                   metadata={**extracted.metadata, ENTITIES_KEY: orjson.dumps(found).decode("utf-8")})


@dataclass(frozen=True)
class Analysed:
    parts: tuple[TextPart, ...]
    entities: tuple[tuple[int, Entity], ...]  # (part number, entity)
    language: str | None
    metadata: dict[str, str]


def analysed(extracted: Extracted) -> Analysed:
    """What a worker found, checked; analysed here when the extractor did not (tests, or an
    extractor without the target). Raises ValueError for a malformed reply."""
    metadata = dict(extracted.metadata)
    encoded = metadata.pop(ENTITIES_KEY, None)
    if encoded is None:
        parts = with_languages(extracted.parts)
        entities = tuple((part.number, entity) for part in parts for entity in find_entities(part.text))
    else:
        parts = extracted.parts
        for part in parts:
            if part.language is not None and len(part.language) > _MAX_LANGUAGE:
                raise ValueError("a part's language is not a language code")
        entities = _entities(encoded, {part.number: len(part.text) for part in parts})
    language = (document_language(parts) or UNDETERMINED) if parts else None
    return Analysed(parts, entities, language, metadata)


def _entities(encoded: str, lengths: dict[int, int]) -> tuple[tuple[int, Entity], ...]:
    rows = orjson.loads(encoded)
    if not isinstance(rows, list):
        raise ValueError("entities are not a list")
    found: list[tuple[int, Entity]] = []
    for row in rows:
        if not (isinstance(row, list) and len(row) == 6):
            raise ValueError("an entity is not a row of six fields")
        page, kind, value, text, start, end = row
        if not (isinstance(page, int) and page in lengths and kind in ENTITY_TYPES and isinstance(value, str)
                and isinstance(text, str) and isinstance(start, int) and isinstance(end, int)
                and 0 <= start <= end <= lengths[page]):
            raise ValueError("an entity's fields are not what an entity holds")
        found.append((page, Entity(kind, value, text, start, end)))
    return tuple(found)
