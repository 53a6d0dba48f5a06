"""The archive index's fields, and one document's translation into them.

Every text goes into every language's field: a bilingual notice, or a Russian document quoting
English, is then found by either language's word forms without trusting language detection."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import tantivy

from censorwatch.archive.domains import parent_domains
from censorwatch.archive.model import Entity, TextPart
from censorwatch.archive.text_analysis import (
    CHINESE,
    ENGLISH,
    IDENTIFIER,
    PAIRS,
    RUSSIAN,
    analyzers,
    chinese_tokens,
    has_han,
    identifier_spans,
    word_pairs,
)

# Bumped whenever fields or analysers change: an index built otherwise must be rebuilt.
SCHEMA_VERSION = 2

DOC_ID = "doc_id"
COLLECTION = "collection"
LANGUAGE = "language"
DATE = "date"
PRIVATE = "private"
TEXT_RU = "text_ru"
TEXT_EN = "text_en"
TEXT_ZH = "text_zh"
WORD_PAIRS = "word_pairs"
HAN_PAIRS = "han_pairs"
IDENT = "ident"
ENTITY = "entity"
BODY = "body"

# The stored text snippets are cut from; matches beyond it still count, without a highlight.
STORED_CHARS = 1_000_000
# Entity types searched exactly by value. Phones are left out: they identify private persons,
# and the index must not become a phone directory before masking exists.
_IDENTIFIER_TYPES = frozenset({"url", "domain", "ip", "email", "record", "decision", "case", "law", "date"})
_INDEXED_ENTITY_TYPES = _IDENTIFIER_TYPES | {"agency"}


@dataclass(frozen=True)
class IndexedDocument:
    """What the index holds of a document: `language` is the document's (language.py),
    `entities` its mentions (entities.py) in every part."""

    doc_id: str
    title: str
    collection: str
    language: str
    date: date | None
    private: bool
    parts: tuple[TextPart, ...]
    entities: tuple[Entity, ...] = field(default=())


def build_schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field(DOC_ID, stored=True, tokenizer_name="raw")
    builder.add_text_field(COLLECTION, tokenizer_name="raw", index_option="basic")
    builder.add_text_field(LANGUAGE, tokenizer_name="raw", index_option="basic")
    builder.add_date_field(DATE, indexed=True, fast=True)
    builder.add_boolean_field(PRIVATE, indexed=True)
    builder.add_text_field(TEXT_RU, tokenizer_name=RUSSIAN)
    builder.add_text_field(TEXT_EN, tokenizer_name=ENGLISH)
    builder.add_text_field(TEXT_ZH, tokenizer_name=CHINESE)
    # Positions: a phrase of three words or more is a phrase of its pairs.
    builder.add_text_field(WORD_PAIRS, tokenizer_name=PAIRS)
    builder.add_text_field(HAN_PAIRS, tokenizer_name=PAIRS)
    builder.add_text_field(IDENT, tokenizer_name=IDENTIFIER, index_option="freq")
    builder.add_text_field(ENTITY, tokenizer_name="raw", index_option="freq")
    builder.add_bytes_field(BODY, stored=True)
    return builder.build()


def register_analyzers(index: tantivy.Index) -> None:
    for name, analyzer in analyzers().items():
        index.register_tokenizer(name, analyzer)


def body_text(parts: tuple[TextPart, ...]) -> str:
    return "\n\n".join(part.text for part in parts)


def entity_key(entity_type: str, value: str) -> str:
    return f"{entity_type}:{value}"


def to_datetime(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


def _identifiers(text: str, entities: tuple[Entity, ...]) -> set[str]:
    keys = {span.term for span in identifier_spans(text)}
    for entity in entities:
        if entity.type in _IDENTIFIER_TYPES:
            keys.add(entity.value.lower())
            if entity.type == "domain":
                keys.update(parent_domains(entity.value))
            elif entity.type == "email":
                keys.add(entity.value.rpartition("@")[2])
    return keys


def to_document(document: IndexedDocument) -> tantivy.Document:
    if not document.doc_id:
        raise ValueError("a document needs a doc_id")
    body = body_text(document.parts)
    texts = [text for text in (document.title, body) if text.strip()]
    result = tantivy.Document()
    result.add_text(DOC_ID, document.doc_id)
    result.add_text(COLLECTION, document.collection)
    # The document's language and each part's: a filter on "en" finds a Russian notice with an
    # English part, as someone who reads only English would want.
    for language in {document.language, *(part.language for part in document.parts if part.language)}:
        result.add_text(LANGUAGE, language)
    if document.date is not None:
        result.add_date(DATE, to_datetime(document.date))
    result.add_boolean(PRIVATE, document.private)
    for text in texts:
        result.add_text(TEXT_RU, text)
        result.add_text(TEXT_EN, text)
        result.add_text(WORD_PAIRS, word_pairs(text))
        if has_han(text):
            words, pairs = chinese_tokens(text)
            result.add_pre_tokenized_text(TEXT_ZH, words)
            result.add_pre_tokenized_text(HAN_PAIRS, pairs)
    for key in sorted(_identifiers(f"{document.title}\n{body}", document.entities)):
        result.add_text(IDENT, key)
    for key in sorted({entity_key(e.type, e.value) for e in document.entities if e.type in _INDEXED_ENTITY_TYPES}):
        result.add_text(ENTITY, key)
    result.add_bytes(BODY, body[:STORED_CHARS].encode("utf-8"))
    return result
