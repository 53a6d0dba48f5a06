"""Which of one header's fingerprints match a value, without trying them one by one.

The `location` header alone has some 400 fingerprints (prefixes and substrings of blockpage
URLs). Checking each in turn ran 120 Python calls per redirect and was the largest part of
fingerprint matching in ingest profiles (bench/bench_ingest_profile.py). Here "full" patterns are one
dict look-up, "prefix" and "contains" patterns one Aho-Corasick pass over the value (a prefix
counts only where it starts at the value's first character), and any other kind (regular
expressions: the shipped set has none for headers) is asked in turn through its own `matches`.
The answers are those of Fingerprint.matches, pattern by pattern (tests/unit/test_fingerprint_matching.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import ahocorasick  # type: ignore[import-not-found,unused-ignore]

from censorwatch.analysis.body_scanner import LITERAL

FULL = "full"
PREFIX = "prefix"


class HeaderPattern(Protocol):
    @property
    def pattern_type(self) -> str: ...

    @property
    def pattern(self) -> str: ...

    def matches(self, value: str) -> bool: ...


class HeaderMatcher:
    """Built from one header's fingerprints; `matching` gives their indices, in order."""

    def __init__(self, patterns: Sequence[HeaderPattern]) -> None:
        self._full: dict[str, list[int]] = {}
        self._always: list[int] = []  # an empty prefix or substring is in every value
        self._others: list[tuple[int, HeaderPattern]] = []  # kinds matched one by one
        # Per word: (is_prefix, index) for each pattern of that text.
        words: dict[str, list[tuple[bool, int]]] = {}
        for index, fingerprint in enumerate(patterns):
            kind, text = fingerprint.pattern_type, fingerprint.pattern
            if kind == FULL:
                self._full.setdefault(text, []).append(index)
            elif kind in (PREFIX, LITERAL):
                if text:
                    words.setdefault(text, []).append((kind == PREFIX, index))
                else:
                    self._always.append(index)
            else:
                self._others.append((index, fingerprint))
        self._automaton: Any = None
        if words:
            self._automaton = ahocorasick.Automaton()
            for text, entries in words.items():
                self._automaton.add_word(text, (len(text), tuple(entries)))
            self._automaton.make_automaton()

    def matching(self, value: str) -> list[int]:
        found = [*self._always, *self._full.get(value, ())]
        if self._automaton is not None:
            for end, (length, entries) in self._automaton.iter(value):
                starts_the_value = end + 1 == length
                found.extend(index for is_prefix, index in entries if starts_the_value or not is_prefix)
        found.extend(index for index, pattern in self._others if pattern.matches(value))
        # A substring can occur more than once; each fingerprint counts once, in database order.
        return sorted(set(found))
