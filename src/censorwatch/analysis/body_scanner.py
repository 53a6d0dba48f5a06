"""Which of many fingerprint patterns (literals and regular expressions) occur in a page body, in
one pass over the body.

Body fingerprinting was the largest analysis cost of OONI ingest (bench/bench_ingest.py): a
145 KB page took 2.2 ms through one Aho-Corasick automaton for the 1,267 literals plus 1.0 ms for
the 14 regular expressions run one by one. Hyperscan compiles literals and expressions into one
database and scans the same page in 0.12 ms with the same answers. It is built for x86-64 only,
so elsewhere the Aho-Corasick path stays: both engines are tested to agree with checking each
pattern in turn (tests/unit/test_fingerprint_matching.py)."""

from __future__ import annotations

import platform
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import ahocorasick  # type: ignore[import-not-found,unused-ignore]

from censorwatch.analysis.compiled_cache import load_or_compile

hyperscan: Any
try:
    import hyperscan
except ImportError:  # not built for this machine (hyperscan is x86-64 only)
    hyperscan = None

LITERAL = "contains"
REGEXP = "regexp"


@dataclass(frozen=True)
class Pattern:
    """`kind` is LITERAL (found anywhere) or REGEXP (Python `re.search` semantics)."""

    kind: str
    text: str


class BodyScanner(Protocol):
    engine: str

    def scan(self, body: str) -> set[int]:
        """Indices (into the patterns it was built from) of the patterns found in `body`."""
        ...


def _regex(text: str) -> re.Pattern[str] | None:
    try:
        return re.compile(text)
    except re.error:
        return None


class AhoCorasickScanner:
    """Literals in one automaton pass, regular expressions one by one with Python's `re`."""

    engine = "aho-corasick"

    def __init__(self, patterns: Sequence[Pattern]) -> None:
        by_literal: dict[str, list[int]] = {}
        self._regexps: list[tuple[int, re.Pattern[str]]] = []
        for index, pattern in enumerate(patterns):
            if pattern.kind == LITERAL and pattern.text:
                by_literal.setdefault(pattern.text, []).append(index)
            elif pattern.kind == REGEXP:
                compiled = _regex(pattern.text)
                if compiled is not None:
                    self._regexps.append((index, compiled))
        self._automaton: Any = ahocorasick.Automaton()
        for literal, indices in by_literal.items():
            self._automaton.add_word(literal, tuple(indices))
        self._has_literals = bool(by_literal)
        if self._has_literals:
            self._automaton.make_automaton()

    def scan(self, body: str) -> set[int]:
        found: set[int] = set()
        if self._has_literals:
            for _end, indices in self._automaton.iter(body):
                found.update(indices)
        found.update(index for index, compiled in self._regexps if compiled.search(body))
        return found


class HyperscanScanner:
    """One Hyperscan database in UTF-8 mode; each pattern reports at most one match
    (SINGLEMATCH), so the callback runs once per fingerprint found, not once per occurrence.
    Patterns Hyperscan rejects are matched with Python's `re` instead. With `cache_name`, the
    compiled database is kept on disk under that name for the next process (compiled_cache.py)."""

    engine = "hyperscan"

    def __init__(self, patterns: Sequence[Pattern], cache_name: str | None = None) -> None:
        assert hyperscan is not None
        expressions: dict[int, bytes] = {}
        for index, pattern in enumerate(patterns):
            if pattern.kind == LITERAL and pattern.text:
                expressions[index] = _literal_expression(pattern.text)
        self._fallback: list[tuple[int, re.Pattern[str]]] = []
        for index, pattern in enumerate(patterns):
            compiled = _regex(pattern.text) if pattern.kind == REGEXP else None
            if compiled is None:
                continue
            if "\x00" in pattern.text:  # would end Hyperscan's C string early
                self._fallback.append((index, compiled))
            else:
                expressions[index] = pattern.text.encode("utf-8")
        self._database: Any = _cached_database(cache_name, expressions) if cache_name else _database(expressions)
        if self._database is None and expressions:
            # One pattern Hyperscan rejects fails the whole database: find it, match it with `re`.
            accepted = {
                index: expression for index, expression in expressions.items() if _database({0: expression}) is not None
            }
            for index in expressions.keys() - accepted.keys():
                compiled = _regex(patterns[index].text)
                if compiled is not None:
                    self._fallback.append((index, compiled))
            self._database = _database(accepted)
        # A scratch space serves one scan at a time: one per thread (the collector and the web
        # app analyse from several threads).
        self._local = threading.local()

    def _scratch(self) -> Any:
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = hyperscan.Scratch(self._database)
        return scratch

    def scan(self, body: str) -> set[int]:
        found: set[int] = set()
        if self._database is not None:

            def on_match(pattern_id: int, start: int, end: int, flags: int, context: object) -> None:
                found.add(pattern_id)

            # "replace": a lone surrogate would make the bytes invalid UTF-8, which Hyperscan's
            # UTF-8 mode does not allow; it cannot be part of any fingerprint anyway.
            data = body.encode("utf-8", "replace")
            self._database.scan(data, match_event_handler=on_match, scratch=self._scratch())
        found.update(index for index, compiled in self._fallback if compiled.search(body))
        return found


_FLAGS = (hyperscan.HS_FLAG_SINGLEMATCH | hyperscan.HS_FLAG_UTF8) if hyperscan is not None else 0


def _literal_expression(text: str) -> bytes:
    """A literal as a Hyperscan expression: every character but ASCII letters and digits as a
    code point escape, so no character can act as syntax or end the C string (NUL)."""
    return "".join(char if char.isascii() and char.isalnum() else f"\\x{{{ord(char):x}}}" for char in text).encode()


def _database(expressions: dict[int, bytes]) -> Any:
    """A compiled block-mode database, or None when there is nothing to compile or Hyperscan
    rejects an expression."""
    if not expressions:
        return None
    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    try:
        database.compile(
            expressions=list(expressions.values()),
            ids=list(expressions.keys()),
            elements=len(expressions),
            flags=[_FLAGS] * len(expressions),
        )
    except hyperscan.error:
        return None
    return database


def _cached_database(name: str, expressions: dict[int, bytes]) -> Any:
    """_database(expressions), compiled by an earlier process when it could be."""
    key = repr((hyperscan.__version__, platform.machine(), _FLAGS, sorted(expressions.items()))).encode()
    return load_or_compile(name, key, lambda: _database(expressions), hyperscan.dumpb, _loaded)


def _loaded(payload: bytes) -> Any:
    try:
        return hyperscan.loadb(payload, hyperscan.HS_MODE_BLOCK)
    except hyperscan.error:  # another Hyperscan version or CPU, or damaged
        return None


def build_scanner(
    patterns: Sequence[Pattern], engine: str | None = None, cache_name: str | None = None
) -> BodyScanner:
    """The fastest engine this machine has, or the one named ("hyperscan", "aho-corasick").
    `cache_name`: keep a compiled Hyperscan database on disk under this name, for a set of
    patterns many processes use (the shipped fingerprints)."""
    if engine is None:
        engine = "hyperscan" if hyperscan is not None else "aho-corasick"
    if engine == "hyperscan":
        if hyperscan is None:
            raise RuntimeError("hyperscan is not installed on this machine")
        return HyperscanScanner(patterns, cache_name)
    if engine == "aho-corasick":
        return AhoCorasickScanner(patterns)
    raise ValueError(f"unknown body scanner engine {engine!r}")
