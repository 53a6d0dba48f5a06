"""What the archive's parts hand each other: extracted text, entities, indexed documents."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class TextPart:
    """One page of a PDF, or one part of any other document (the body of an e-mail, a file's text).
    `number` counts from 1; `language` is filled in by archive/language.py."""

    number: int
    text: str
    language: str | None = None


@dataclass(frozen=True)
class Child:
    """A document inside a document: a ZIP member, an e-mail attachment, a message of an mbox."""

    name: str
    data: bytes


@dataclass(frozen=True)
class Extracted:
    """What an extractor found in one file's bytes.

    `kind`: the format it was read as (sniff.KINDS: "pdf", "docx", "xlsx", "msg"...).
    `needs_ocr`: pages without a text layer that no OCR engine read (tesseract missing)."""

    kind: str
    title: str | None
    date: datetime | None
    parts: tuple[TextPart, ...]
    children: tuple[Child, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict)
    needs_ocr: bool = False


class ExtractionFailed(Exception):
    """A file that could not be read: corrupt, encrypted, hostile or too large. `reason` is one
    short sentence for the user; the file is recorded as failed with it and the batch goes on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Entity:
    """A mention in a text: `type` is one of ENTITY_TYPES, `value` its normalised form (a domain
    lower-cased without a trailing dot, a URL with a lower-cased host, a register record as
    "451555-РИ", a law as "149-ФЗ"), `text` what the document says, `start`/`end` its offsets."""

    type: str
    value: str
    text: str
    start: int
    end: int


ENTITY_TYPES = ("url", "domain", "ip", "email", "phone", "date", "record", "decision", "case", "law", "agency")
