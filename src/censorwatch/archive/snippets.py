"""The passage of a document that best shows why it matched: the window of at most 200
characters holding the most distinct query terms, with the character ranges to highlight.

Our own rather than tantivy's SnippetGenerator, which works one field at a time and in bytes:
a hit may match through the Russian stem, the Chinese words and an identifier at once, and the
web page needs character offsets."""

from __future__ import annotations

import re
from dataclasses import dataclass

from censorwatch.archive.query_build import Highlights
from censorwatch.archive.text_analysis import word_terms

MAX_CHARS = 200
# Only so much of a long document is re-analysed per hit; beyond it the snippet is its beginning.
_SCAN_CHARS = 100_000
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Snippet:
    text: str
    highlights: tuple[tuple[int, int], ...]


def _prefix_pattern(terms: set[str]) -> re.Pattern[str]:
    """Words that may stem to one of `terms`: Snowball stemmers only rewrite a word's end (and
    ё to е), so all but a stem's last letter begins every word that has it."""
    prefixes = sorted({term[:-1] if len(term) > 3 else term for term in terms}, key=len, reverse=True)
    alternatives = "|".join(re.escape(prefix).replace("е", "[её]") for prefix in prefixes)
    return re.compile(rf"(?<!\w)(?:{alternatives})[^\W_]*", re.IGNORECASE)


class SnippetMaker:
    """Snippets for one query's hits: its patterns compiled once, then a regex scan per hit, with
    the analyser run only on the few words the scan proposes."""

    def __init__(self, highlights: Highlights) -> None:
        self.words = [
            (analyzer, terms, _prefix_pattern(terms)) for analyzer, terms in highlights.words.items() if terms
        ]
        literal = sorted(highlights.chinese | highlights.identifiers, key=len, reverse=True)
        self.literal = re.compile("|".join(map(re.escape, literal)), re.IGNORECASE) if literal else None
        # The scan proposes the same few words again and again across a query's hits (2,596
        # analyser calls for 4 distinct words on 20 hits in bench/bench_archive.py): analysed once.
        self._terms: dict[tuple[str, str], str | None] = {}

    def _matches(self, text: str) -> list[tuple[int, int, str]]:
        found: list[tuple[int, int, str]] = []
        for analyzer, terms, pattern in self.words:
            for match in pattern.finditer(text):
                key = (analyzer, match.group())
                if key in self._terms:
                    hit = self._terms[key]
                else:
                    hit = self._terms[key] = next((term for term in word_terms(analyzer, key[1]) if term in terms),
                                                  None)
                if hit is not None:
                    found.append((match.start(), match.end(), hit))
        if self.literal is not None:
            found.extend((match.start(), match.end(), match.group().lower()) for match in self.literal.finditer(text))
        return sorted(found)

    def snippet(self, text: str, width: int = MAX_CHARS) -> Snippet:
        scanned = text[:_SCAN_CHARS]
        matches = self._matches(scanned)
        if not matches:
            return _collapse(_SPACE.sub(" ", scanned[: width * 2]).strip()[:width], [])
        match_start, match_end = _best_window(matches, width)
        start, end = _window(scanned, match_start, match_end, width)
        ranges = sorted(
            (found_start - start, found_end - start)
            for found_start, found_end, _ in matches
            if found_start >= start and found_end <= end
        )
        return _collapse(scanned[start:end], ranges)


def _best_window(matches: list[tuple[int, int, str]], width: int) -> tuple[int, int]:
    """Span (first match start, last match end) of the window with the most distinct terms."""
    best = (0, 0, 0, 0)  # distinct terms, matches, start, end
    last = 0
    for first, (start, _, _) in enumerate(matches):
        last = max(last, first)
        while last + 1 < len(matches) and matches[last + 1][1] - start <= width:
            last += 1
        inside = matches[first : last + 1]
        if inside[-1][1] - start > width:
            inside = inside[:1]
        score = (len({term for _, _, term in inside}), len(inside))
        if score > best[:2]:
            best = (*score, start, max(end for _, end, _ in inside))
    return best[2], best[3]


def _window(text: str, match_start: int, match_end: int, width: int) -> tuple[int, int]:
    """Bounds of at most `width` characters around the matches, a little context before them,
    cut at spaces where one is near."""
    slack = max(0, width - (match_end - match_start))
    start = max(0, match_start - min(slack // 3, 60))
    end = min(len(text), start + width)
    start = max(0, min(start, end - width))
    if start > 0:
        space = text.find(" ", start, match_start)
        if 0 <= space < start + 20:
            start = space + 1
    if end < len(text):
        space = text.rfind(" ", match_end, end)
        if space > end - 20:
            end = space
    return start, end


def _collapse(text: str, ranges: list[tuple[int, int]]) -> Snippet:
    """`text` with runs of white space made one space and trimmed, the ranges moved along."""
    pieces: list[str] = []
    position_map: list[int] = []
    length = 0
    for char in text:
        position_map.append(length)
        if char.isspace():
            if pieces and pieces[-1] != " ":
                pieces.append(" ")
                length += 1
            continue
        pieces.append(char)
        length += 1
    position_map.append(length)
    collapsed = "".join(pieces)
    trimmed = collapsed.rstrip()
    moved: list[tuple[int, int]] = []
    for start, end in ranges:
        new_start, new_end = position_map[start], min(position_map[end], len(trimmed))
        if new_start >= new_end:
            continue
        # Touching or one space apart (the words of a phrase): one highlight.
        if moved and not trimmed[moved[-1][1] : new_start].strip():
            moved[-1] = (moved[-1][0], max(moved[-1][1], new_end))
        else:
            moved.append((new_start, new_end))
    return Snippet(trimmed, tuple(moved))


def make_snippet(text: str, highlights: Highlights, width: int = MAX_CHARS) -> Snippet:
    return SnippetMaker(highlights).snippet(text, width)
