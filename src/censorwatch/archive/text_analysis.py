"""How text becomes index terms, the same way when a document is indexed, when a query is
parsed and when a snippet is highlighted:

- words (every script but Han): lower-cased, then stemmed by Snowball's Russian or English stemmer
  (tantivy's own analysers, so indexing runs in Rust);
- Chinese: each run of Han characters segmented by jieba in search mode, which adds the dictionary
  words inside long words (网络 and 安全 inside 网络安全). Tokens are positioned at their character
  offset, so a phrase of any segmentation matches wherever its words stand side by side;
- identifiers: whole dash-, slash- and dot-joined tokens with a digit, `@`, `#` or a domain shape
  ("2-1066/2016", "451555-РИ", "eais.rkn.gov.ru"), lower-cased, never split;
- word pairs: each two neighbouring words joined by "_" (a character no word or Han term holds),
  so that a phrase is a few rare terms instead of common words whose positions must be compared
  in every document that holds them all (docs/archive.md, "Phrases"). A word of a pair is
  stemmed by the Russian stemmer, then the English one: each leaves the other's script as it is,
  so a word gets its own language's stem from one analysis. Chinese pairs are two words of the
  search-mode segmentation where the first ends and the second starts, positioned at the first's
  offset."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from itertools import pairwise

import rjieba
import tantivy

from censorwatch.archive.domains import plausible_domain
from censorwatch.archive.legal_refs import normalise_dashes

RUSSIAN = "ru_stem"
ENGLISH = "en_stem"
CHINESE = "zh_words"
IDENTIFIER = "ident"
PAIRS = "pairs"
PAIR_WORDS = "pair_words"
_PAIR_JOIN = "_"

# Rust regex: letters and digits of every script but Han (Han goes to the Chinese field), no "_".
_WORD_PATTERN = r"[[\w--\p{Han}]&&[^_]]+"
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_RUN = re.compile(f"[{_HAN}]+")
_HAS_HAN = re.compile(f"[{_HAN}]")
# Possessive and anchored at word starts: a plain word fails at once instead of being retried
# at each of its letters (this scan runs over every indexed text).
_IDENTIFIER = re.compile(r"(?<!\w)\w++(?:[-‐‑‒–—−/.#@:]\w++)+")
_DIGIT_OR_MARK = re.compile(r"[\d@#]")
# An abbreviation glued to a number: "ст.15.1", "п.3", "No.7".
_HEAD = re.compile(r"[^\W\d_]{1,4}[.#:](?=\d)")
_LONGEST_TERM = 64
_LONGEST_IDENTIFIER = 200


@dataclass(frozen=True)
class Span:
    term: str
    start: int
    end: int


def _word_analyzer(*languages: str) -> tantivy.TextAnalyzer:
    builder = (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(_WORD_PATTERN))
        .filter(tantivy.Filter.remove_long(_LONGEST_TERM))
        .filter(tantivy.Filter.lowercase())
    )
    for language in languages:
        builder = builder.filter(tantivy.Filter.stemmer(language))
    return builder.build()


@cache
def analyzers() -> dict[str, tantivy.TextAnalyzer]:
    """Analysers by the tokenizer names the schema uses; an index registers them on opening."""
    return {
        RUSSIAN: _word_analyzer("russian"),
        ENGLISH: _word_analyzer("english"),
        # Chinese arrives pre-tokenized; this one only serves tantivy's own query parser.
        CHINESE: tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build(),
        IDENTIFIER: tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.raw()).filter(tantivy.Filter.lowercase()).build(),
        # Pairs arrive as "a_b b_c …" (word_pairs), already analysed.
        PAIRS: tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build(),
        PAIR_WORDS: _word_analyzer("russian", "english"),
    }


def word_terms(analyzer: str, text: str) -> list[str]:
    return list(analyzers()[analyzer].analyze(text))


def pair_keys(text: str) -> list[str]:
    """`text`'s words as they stand in pairs."""
    return word_terms(PAIR_WORDS, text)


def pair(first: str, second: str) -> str:
    return f"{first}{_PAIR_JOIN}{second}"


def word_pairs(text: str) -> str:
    """The text the pairs field indexes: one pair per neighbouring words, in order, so the
    whitespace tokenizer gives pair N position N."""
    return " ".join(pair(first, second) for first, second in pairwise(pair_keys(text)))


def has_han(text: str) -> bool:
    return _HAS_HAN.search(text) is not None


def chinese_tokens(text: str) -> tuple[tantivy.PreTokenizedString, tantivy.PreTokenizedString]:
    """The text_zh tokens of `text` and its Chinese pairs, from one segmentation."""
    # Straight from jieba's offsets to tokens (no Span in between): this runs for every token of
    # every Chinese text indexed.
    tokens: list[tantivy.Token] = []
    pairs: list[tantivy.Token] = []
    for run in _HAN_RUN.finditer(text):
        offset = run.start()
        words = rjieba.tokenize(run.group(), mode="search")
        starting: dict[int, list[tuple[str, int]]] = {}
        for word, start, end in words:
            starting.setdefault(start, []).append((word, end))
            tokens.append(tantivy.Token(word, offset + start, offset + start, offset + end))
        for word, start, end in words:
            for following, last in starting.get(end, ()):
                pairs.append(tantivy.Token(pair(word, following), offset + start, offset + start, offset + last))
    return tantivy.PreTokenizedString(text, tokens), tantivy.PreTokenizedString(text, pairs)


def chinese_phrases(text: str) -> list[list[tuple[int, str]]]:
    """The Han characters of a query (runs joined: a space between Chinese words is not a gap)
    as alternative phrases of (offset, word): jieba's own segmentation, and the finest cover
    by dictionary words, which search mode also indexes inside longer words. Either may find
    what the other misses when the document's context segmented it differently."""
    run = "".join(_HAN_RUN.findall(text))
    if not run:
        return []
    coarse, offset = [], 0
    for word in rjieba.cut(run):
        coarse.append((offset, word))
        offset += len(word)
    fine = _finest_cover(run)
    return [coarse] if fine == coarse else [coarse, fine]


def _finest_cover(run: str) -> list[tuple[int, str]]:
    candidates: dict[int, set[int]] = {}
    for _word, start, end in rjieba.tokenize(run, mode="search"):
        candidates.setdefault(start, set()).add(end)
    for index in range(len(run)):
        candidates.setdefault(index, set()).add(index + 1)
    # Cheapest cover of the run: 2-3 character words cost 1, longer words 2, single characters 3
    # (search mode indexes a single character only where jieba cut it alone); ties go finer.
    best: list[tuple[int, list[tuple[int, str]]] | None] = [None] * (len(run) + 1)
    best[0] = (0, [])
    for start in range(len(run)):
        reached = best[start]
        if reached is None:
            continue
        for end in candidates.get(start, ()):
            length = end - start
            cost = reached[0] + (1 if length in (2, 3) else 2 if length > 3 else 3)
            current = best[end]
            pieces = [*reached[1], (start, run[start:end])]
            if current is None or (cost, -len(pieces)) < (current[0], -len(current[1])):
                best[end] = (cost, pieces)
    final = best[len(run)]
    return final[1] if final else []


def is_identifier(token: str) -> bool:
    """A token to match whole: joined parts with a digit, `@` or `#`, or a domain."""
    if not _IDENTIFIER.fullmatch(token):
        return False
    if _DIGIT_OR_MARK.search(token):
        return True
    return "." in token and plausible_domain(token.split("/", 1)[0])


def identifier_key(token: str) -> str:
    return normalise_dashes(token).lower()


def identifier_spans(text: str) -> Iterator[Span]:
    """Identifier-shaped tokens of `text`, lower-cased, with their offsets. A letters-only head
    (`ст.15.1`, `п.3`) also yields the rest, and a Russian year mark glued to a date
    (`25.03.2016г`) is dropped, so the number is found as it is searched for."""
    for match in _IDENTIFIER.finditer(text):
        token = match.group()
        if len(token) > _LONGEST_IDENTIFIER or not is_identifier(token):
            continue
        start, end = match.start(), match.end()
        if token[-1] == "г" and token[-2].isdigit():
            token, end = token[:-1], end - 1
        yield Span(identifier_key(token), start, end)
        head = _HEAD.match(token)
        if head and is_identifier(token[head.end() :]):
            yield Span(identifier_key(token[head.end() :]), start + head.end(), end)
