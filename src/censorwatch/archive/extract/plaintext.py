"""Plain text, Markdown and CSV in any common encoding (encoding.py decides which)."""

from __future__ import annotations

import re

from ..model import Extracted, ExtractionFailed, TextPart
from .encoding import decode_text
from .limits import MAX_TEXT_BYTES
from .normalise import TextBudget, tidy

_MARKDOWN = (".md", ".markdown", ".mdown")
_HEADING = re.compile(r"^#{1,2}[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


def extract_text(data: bytes, name: str = "") -> Extracted:
    decoded = decode_text(data[:MAX_TEXT_BYTES])
    if decoded is None:
        raise ExtractionFailed("unsupported format: binary data, not text")
    budget = TextBudget()
    budget.truncated = len(data) > MAX_TEXT_BYTES
    text = budget.take(tidy(decoded.text))
    title = None
    if name.lower().endswith(_MARKDOWN):
        heading = _HEADING.search(text[:4096])
        title = heading.group(1) if heading else None
    return Extracted(kind="text", title=title, date=None, parts=(TextPart(1, text),),
                     metadata=budget.note({"encoding": decoded.encoding}))
