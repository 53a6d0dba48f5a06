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


def _prefixes(terms: set[str]) -> set[str]:
    """What begins every word that may stem to one of `terms`: Snowball stemmers only rewrite a
    word's end (and ё to е), so all but a stem's last letter."""
    return {term[:-1] if len(term) > 3 else term for term in terms}


def _alternatives(prefixes: set[str]) -> str:
    ordered = sorted(prefixes, key=lambda prefix: (-len(prefix), prefix))
    return "|".join(re.escape(prefix).replace("е", "[её]") for prefix in ordered)


def _prefix_pattern(prefixes: set[str]) -> re.Pattern[str]:
    """Whole words beginning with one of `prefixes`."""
    return re.compile(rf"(?<!\w)(?:{_alternatives(prefixes)})[^\W_]*", re.IGNORECASE)


def _plain(prefixes: set[str]) -> bool:
    r"""Only Latin and Cyrillic letters and digits (whatever `re.IGNORECASE` lets them match is a
    letter too): then a match runs from a word's start to the end of its letters and digits
    (`[^\W_]*`) whichever prefix began it, and one scan with every analyser's prefixes finds each
    analyser's words where its own scan would."""
    return all(char.isalnum() and (char < "\x80" or "\u0400" <= char <= "\u04ff") for char in "".join(prefixes))


class SnippetMaker:
    """Snippets for one query's hits: its patterns compiled once, then a regex scan per hit, with
    the analyser run only on the few words the scan proposes.

    One scan per hit for all analysers: the words any analyser's prefixes begin, each then given
    to the analysers whose own prefixes begin it (not needed when the prefixes are the same, as
    for "site" or "реестр"), so the matches are those of a scan per analyser. A query's hits
    propose the same few words again and again (2,596 analyser calls for 4 distinct words on 20
    hits in bench/bench_archive.py): each word's terms are worked out once per query."""

    def __init__(self, highlights: Highlights) -> None:
        # (analyser, its terms, its prefixes) in the order of highlights.words.
        words = [(analyzer, terms, _prefixes(terms)) for analyzer, terms in highlights.words.items() if terms]
        every = set().union(*(prefixes for _, _, prefixes in words))
        # Each scan: its pattern and, per analyser it serves, the analyser's terms and a check
        # that the analyser's own prefixes begin the word (None: they are the scan's).
        self._scans: list[tuple[re.Pattern[str], list[tuple[str, set[str], re.Pattern[str] | None]]]] = []
        if words and _plain(every):
            checks = [
                (analyzer, terms, None if prefixes == every else re.compile(_alternatives(prefixes), re.IGNORECASE))
                for analyzer, terms, prefixes in words
            ]
            self._scans.append((_prefix_pattern(every), checks))
        else:
            # Other scripts (a mark, a joiner, Greek case folding): a scan per distinct pattern.
            by_prefixes: dict[frozenset[str], list[tuple[str, set[str], re.Pattern[str] | None]]] = {}
            for analyzer, terms, prefixes in words:
                by_prefixes.setdefault(frozenset(prefixes), []).append((analyzer, terms, None))
            self._scans.extend((_prefix_pattern(set(prefixes)), checks) for prefixes, checks in by_prefixes.items())
        literal = sorted(highlights.chinese | highlights.identifiers, key=len, reverse=True)
        self.literal = re.compile("|".join(map(re.escape, literal)), re.IGNORECASE) if literal else None
        # Per scan (an analyser is in one), each word proposed -> the terms it matches, one per
        # analyser that matches it (two analysers' matches count apart even with the same term):
        # word_terms runs once per (analyser, word) and query.
        self._found: list[dict[str, tuple[str, ...]]] = [{} for _ in self._scans]

    def _hits(self, word: str, checks: list[tuple[str, set[str], re.Pattern[str] | None]]) -> tuple[str, ...]:
        hits = []
        for analyzer, terms, begins in checks:
            if begins is not None and not begins.match(word):
                continue
            hit = next((term for term in word_terms(analyzer, word) if term in terms), None)
            if hit is not None:
                hits.append(hit)
        return tuple(hits)

    def _matches(self, text: str) -> list[tuple[int, int, str]]:
        found: list[tuple[int, int, str]] = []
        for (pattern, checks), memo in zip(self._scans, self._found, strict=True):
            for match in pattern.finditer(text):
                word = match.group()
                hits = memo.get(word)
                if hits is None:
                    hits = memo[word] = self._hits(word, checks)
                found.extend((match.start(), match.end(), hit) for hit in hits)
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
