"""Blockpages that no fingerprint knows (docs/verdicts.md, rule R22; issue #21).

OONI's v0.4 rule calls a page accessible when its status and one uncommon header name match the
control's (ts-017), so a blockpage served with status 200 by a box that copies the origin's
headers passes as the site. This module is asked only about pages that differ from the control's
(web_connectivity_keys.page_differs) and says whether the page reads like a blockpage, quoting
what it matched.

Cues (blockpage_cues.py) and their weights; a page is a blockpage at 3 points or more, and only
if it makes a blocking statement or frames a private address. A statement in the future, the
conditional or the negative ("доступ к нему будет ограничен", Roskomnadzor's letters to site
owners) is about blocking, not a blockpage, and does not count:
- frame: the page frames, refreshes or redirects to a private address (Iran's 10.10.34.34) - 3
- statement: "access to the resource is restricted", "Blocked URL", "该网页已被阻断" ... - 2
- weak statement: "the site has been blocked", "website is not accessible" ... - 1
- legal: a blocking law (149-FZ ...), a court or ministry decision, the unified register - 1
- register: a link to a register or blockpage host (eais.rkn.gov.ru, warning.rt.ru ...) - 1
- title: the page's title says blocked / restricted / forbidden - 1
- shape: the whole page is under 64 KiB with at most 5 links - 1
- server: the Server header names another product than the control's - 1

Cost: one scan of the page's first 64 KiB by one Hyperscan database (body_scanner.py); most
pages that differ carry no statement and stop there. A page that does is scanned once more, by a
database that reports where each cue matched, and Python's `re` reads each statement found there
(to drop hedged ones and to quote it) on a slice of a few hundred bytes rather than the page.
Without Hyperscan (it is x86-64 only) one Aho-Corasick pass for the cues' trigger words comes
first, and the expressions run in Python's `re` only on pages that have one."""

from __future__ import annotations

import html
import itertools
import platform
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from censorwatch.analysis.blockpage_cues import (
    BLOCKPAGE_DOMAINS,
    CUES,
    FRAME,
    HEDGES,
    LEGAL,
    REGISTER,
    STATEMENT,
    TITLE_WORDS,
    TRIGGERS,
    WEAK_STATEMENT,
)
from censorwatch.analysis.body_scanner import LITERAL, BodyScanner, Pattern, build_scanner, hyperscan
from censorwatch.analysis.compiled_cache import load_or_compile

# Blockpages say what they are near the top: in shared/data the furthest statement is 27 K characters in (after the
# style sheet of a page saved from MS Word).
SCAN_CHARS = 64 * 1024
SHORT_PAGE_CHARS = 64 * 1024
FEW_LINKS = 5
THRESHOLD = 3
WEIGHTS = {FRAME: 3, STATEMENT: 2, WEAK_STATEMENT: 1, LEGAL: 1, REGISTER: 1}
TITLE, SHAPE, SERVER = "title", "shape", "server"
SCANNER_CACHE = "blockpage-cues"  # the compiled databases, kept between processes (compiled_cache.py)
LOCATOR_CACHE = "blockpage-cues-located"
ENDS_PER_CUE = 8
# Where Python's `re` looks for a match the locator saw end: a blockpage's statement is a short sentence.
MATCH_BYTES = 600
TAIL_BYTES = 64  # a greedy tail ("decision no 2012") may run past the first end reported
QUOTE_CHARS = 70
QUOTES_PER_CUE = 2

_LINK = re.compile(r"<a[\s>]", re.IGNORECASE)
_TITLE = re.compile(TITLE_WORDS)
_HEDGE = re.compile(HEDGES)
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Cue:
    kind: str
    quote: str


@dataclass(frozen=True)
class Detection:
    points: int
    cues: tuple[Cue, ...]

    def summary(self) -> str:
        """The cues as a reason fragment: statement «Доступ ... ограничен», legal «149-ФЗ», shape (...)"""
        return ", ".join(_render(cue) for cue in self.cues)


def _render(cue: Cue) -> str:
    if not cue.quote:
        return cue.kind
    return f"{cue.kind} ({cue.quote})" if cue.kind in (SHAPE, SERVER) else f"{cue.kind} «{cue.quote}»"


def cue_patterns() -> list[Pattern]:
    """The scanner's patterns, index for index with blockpage_cues.CUES."""
    return [pattern for _, pattern in CUES]


Stage = tuple[BodyScanner, tuple[int, ...]]  # a scanner and the CUES indices of its patterns


@cache
def _stages(engine: str | None) -> tuple[Stage, ...]:
    """Hyperscan: one scan for every cue. Without it, the statement and frame cues first, the
    others only on a page that makes a statement (each expression is a pass of Python's `re`)."""
    if engine is None:
        engine = "hyperscan" if hyperscan is not None else "aho-corasick"
    if engine == "hyperscan":
        return ((build_scanner(cue_patterns(), engine, cache_name=SCANNER_CACHE), tuple(range(len(CUES)))),)
    first = tuple(i for i, (kind, _) in enumerate(CUES) if kind in (FRAME, STATEMENT, WEAK_STATEMENT))
    rest = tuple(i for i in range(len(CUES)) if i not in first)
    return tuple((build_scanner([CUES[i][1] for i in part], engine), part) for part in (first, rest))


@cache
def _triggers() -> BodyScanner:
    return build_scanner([Pattern(LITERAL, word) for word in TRIGGERS], "aho-corasick")


class _Locator:
    """Where each cue matched: a Hyperscan database like the scanner's but reporting every match
    end (no SINGLEMATCH), keeping the first ENDS_PER_CUE per cue. Used on pages that make a
    statement only."""

    def __init__(self) -> None:
        expressions = {i: _expression(pattern).encode() for i, (_, pattern) in enumerate(CUES)}
        key = repr((hyperscan.__version__, platform.machine(), sorted(expressions.items()))).encode()
        self._database: Any = load_or_compile(LOCATOR_CACHE, key, lambda: _compile(expressions), hyperscan.dumpb,
                                              _load)
        self._local = threading.local()

    @property
    def usable(self) -> bool:
        return self._database is not None

    def ends(self, data: bytes) -> dict[int, list[int]]:
        ends: dict[int, list[int]] = {}

        def on_match(pattern_id: int, start: int, end: int, flags: int, context: object) -> None:
            found = ends.setdefault(pattern_id, [])
            if len(found) < ENDS_PER_CUE:
                found.append(end)

        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = hyperscan.Scratch(self._database)
        self._database.scan(data, match_event_handler=on_match, scratch=scratch)
        return ends


def _expression(pattern: Pattern) -> str:
    return re.escape(pattern.text) if pattern.kind == LITERAL else pattern.text


def _compile(expressions: dict[int, bytes]) -> Any:
    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    try:
        database.compile(expressions=list(expressions.values()), ids=list(expressions.keys()),
                         elements=len(expressions), flags=[hyperscan.HS_FLAG_UTF8] * len(expressions))
    except hyperscan.error:
        return None  # then quotes come from Python's `re` over the whole page
    return database


def _load(payload: bytes) -> Any:
    try:
        return hyperscan.loadb(payload, hyperscan.HS_MODE_BLOCK)
    except hyperscan.error:
        return None


@cache
def _locator() -> _Locator | None:
    if hyperscan is None:
        return None
    locator = _Locator()
    return locator if locator.usable else None


@cache
def _compiled(index: int) -> re.Pattern[str]:
    return re.compile(_expression(CUES[index][1]))


def detect(
    body: str | None,
    title: str,
    server: str | None,
    control_server: str | None,
    engine: str | None = None,
) -> Detection | None:
    """A Detection when the page reads like a blockpage, else None. `server` and
    `control_server` are the Server header values (None when absent); `engine` names a
    body_scanner engine (default: the fastest this machine has)."""
    if not body:
        return None
    window = body[:SCAN_CHARS]
    stages = _stages(engine)
    if len(stages) > 1 and not _triggers().scan(window):
        return None
    indices: dict[str, list[int]] = {}
    for scanner, part in stages:
        for found in sorted(scanner.scan(window)):
            indices.setdefault(CUES[part[found]][0], []).append(part[found])
        if not indices.keys() & {FRAME, STATEMENT, WEAK_STATEMENT}:
            return None  # the common case for a page that differs: no statement, nothing more to do
    for found_indices in indices.values():
        found_indices.sort()
    located = _Located(window)
    statements: dict[str, list[str]] = {
        kind: located.statements(indices[kind]) for kind in (STATEMENT, WEAK_STATEMENT) if kind in indices
    }
    kinds = {kind for kind in indices if kind not in statements or statements[kind]}
    statement = STATEMENT if STATEMENT in kinds else WEAK_STATEMENT if WEAK_STATEMENT in kinds else None
    if statement is None and FRAME not in kinds:
        return None
    scored = [kind for kind in (FRAME, statement, LEGAL, REGISTER) if kind in kinds]
    points = sum(WEIGHTS[kind] for kind in scored)
    extra: list[Cue] = []
    title_word = _TITLE.search(title) if title else None
    if title_word:
        extra.append(Cue(TITLE, _quote(title)))
    links = _links(window) if len(body) <= SHORT_PAGE_CHARS else None
    if links is not None and links <= FEW_LINKS:
        extra.append(Cue(SHAPE, f"{len(body)} characters, {links} link{'s' if links != 1 else ''}"))
    other = _other_server(server, control_server)
    if other:
        extra.append(Cue(SERVER, other))
    points += len(extra)
    if points < THRESHOLD:
        return None
    quoted = [Cue(kind, "», «".join(statements[kind] if kind in statements else located.quotes(indices[kind])))
              for kind in scored]
    return Detection(points, tuple(quoted + extra))


def _links(window: str) -> int:
    """Links in the page, counted up to one past FEW_LINKS (more says nothing more)."""
    return sum(1 for _ in itertools.islice(_LINK.finditer(window), FEW_LINKS + 1))


def _product(server: str) -> str:
    return server.strip().split("/", 1)[0].split(" ", 1)[0].lower()


def _other_server(server: str | None, control_server: str | None) -> str | None:
    if not server or not control_server or _product(server) == _product(control_server):
        return None
    return f"{_quote(server, 30)} vs the control's {_quote(control_server, 30)}"


class _Located:
    """The texts the cues matched on one page, read by Python's `re` just before where the locator
    says they end (MATCH_BYTES), or over the page without Hyperscan."""

    def __init__(self, window: str) -> None:
        self.window = window
        self._ends: dict[int, list[int]] | None = None
        self._data = b""

    def statements(self, indices: list[int]) -> list[str]:
        """Quotes of the statements that are not hedged (HEDGES: future, conditional, negated)."""
        return self._quotes(indices, lambda text: _HEDGE.search(text) is None)

    def quotes(self, indices: list[int]) -> list[str]:
        return self._quotes(indices, lambda text: True)

    def _quotes(self, indices: list[int], keep: Callable[[str], bool]) -> list[str]:
        quotes: list[str] = []
        for index in indices:
            for text in self._matches(index):
                quote = _quote(text)
                if keep(text) and quote not in quotes:
                    quotes.append(quote)
                    if len(quotes) == QUOTES_PER_CUE:
                        return quotes
        return quotes

    def _matches(self, index: int) -> Iterator[str]:
        locator = _locator()
        if locator is None:
            yield from (match.group(0) for match in _compiled(index).finditer(self.window))
            return
        if self._ends is None:
            self._data = self.window.encode("utf-8", "replace")  # as the scanner encodes it
            self._ends = locator.ends(self._data)
        covered = -1
        for end in self._ends.get(index, []):
            if end <= covered:
                continue  # one match reports an end per character it could stop at ("decision no 2012")
            covered = end + TAIL_BYTES
            piece = self._data[max(0, end - MATCH_BYTES) : covered].decode("utf-8", "replace")
            yield from (match.group(0) for match in _compiled(index).finditer(piece))


def _quote(text: str, limit: int = QUOTE_CHARS) -> str:
    # The Russian cues end on the character after the participle ("ограничен<"): not part of the quote.
    text = _SPACE.sub(" ", html.unescape(text)).strip().rstrip("<>«»\"',;:")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def blockpage_domain(url: str | None) -> str | None:
    """The register or blockpage domain (blockpage_cues.BLOCKPAGE_DOMAINS) a URL's host is in."""
    if not url:
        return None
    try:
        host = (urlsplit(url).hostname or "").rstrip(".")
    except ValueError:
        return None
    for domain in BLOCKPAGE_DOMAINS:
        if host == domain or host.endswith("." + domain):
            return domain
    if host.startswith("10.10.34."):  # Iran's national blockpage servers
        return host
    return None


def redirected_to_blockpage_host(urls: Iterable[str | None], headers: Iterable[Mapping[str, str]]) -> str | None:
    """The blockpage host a redirect chain led to: a request URL (`urls`, first request last, as
    OONI lists them) or a Location header that points to a register or blockpage host, when the
    chain did not start there (a measurement of eais.rkn.gov.ru itself is no blockpage)."""
    chain = list(urls)
    targets = chain[:-1] + [location for h in headers if (location := h.get("location"))]
    if not targets:
        return None  # no redirect: the common case costs nothing more
    start = blockpage_domain(chain[-1]) if chain else None
    for target in targets:
        domain = blockpage_domain(target)
        if domain is not None and domain != start:
            return urlsplit(target or "").hostname or domain
    return None
