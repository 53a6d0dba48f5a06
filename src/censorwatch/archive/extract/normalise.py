"""What every extractor does to its text before handing it on: one line-ending convention, no
trailing blanks, no runs of empty lines, and a cap on the size (limits.MAX_TEXT_CHARS)."""

from __future__ import annotations

import re

from .limits import MAX_TEXT_CHARS

_LINE_ENDS = re.compile(r"\r\n?|[\u2028\u2029\x0b\x0c\x85]")
_TRAILING = re.compile(r"[ \t]+$", re.MULTILINE)
_EMPTY_RUNS = re.compile(r"\n{3,}")
# C0 controls other than tab and newline are never text; NUL in particular breaks indexers.
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


def tidy(text: str) -> str:
    """Line endings to \\n, no control characters, no trailing blanks, at most one empty line."""
    text = _LINE_ENDS.sub("\n", text)
    text = _CONTROLS.sub("", text)
    text = _TRAILING.sub("", text)
    return _EMPTY_RUNS.sub("\n\n", text).strip("\n")


class TextBudget:
    """Characters left for one document; parts past the budget are cut and the cut is recorded."""

    def __init__(self, limit: int = MAX_TEXT_CHARS) -> None:
        self.left = limit
        self.truncated = False

    def take(self, text: str) -> str:
        if len(text) > self.left:
            text = text[: self.left]
            self.truncated = True
        self.left -= len(text)
        return text

    def note(self, metadata: dict[str, str]) -> dict[str, str]:
        if self.truncated:
            metadata["truncated"] = "text cut at the limit of the extractor"
        return metadata
