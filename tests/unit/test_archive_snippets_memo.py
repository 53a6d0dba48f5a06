"""snippets.py's SnippetMaker scans a text once for every analyser's prefixes and analyses each
proposed word once per query, and still gives what one scan per analyser, with the analyser run
on every occurrence, gave: the reference below is that earlier code, kept here to compare with."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from censorwatch.archive import snippets
from censorwatch.archive.index_schema import build_schema
from censorwatch.archive.query import parse_query
from censorwatch.archive.query_build import Highlights, build_query
from censorwatch.archive.snippets import MAX_CHARS, Snippet, SnippetMaker, _best_window, _collapse, _window
from censorwatch.archive.text_analysis import ENGLISH, RUSSIAN, word_terms

SCHEMA = build_schema()


def _reference_pattern(terms: set[str]) -> re.Pattern[str]:
    prefixes = sorted({term[:-1] if len(term) > 3 else term for term in terms}, key=len, reverse=True)
    alternatives = "|".join(re.escape(prefix).replace("е", "[её]") for prefix in prefixes)
    return re.compile(rf"(?<!\w)(?:{alternatives})[^\W_]*", re.IGNORECASE)


def reference_matches(highlights: Highlights, text: str) -> list[tuple[int, int, str]]:
    """The earlier SnippetMaker._matches: a scan per analyser, every occurrence analysed."""
    found: list[tuple[int, int, str]] = []
    for analyzer, terms in highlights.words.items():
        if not terms:
            continue
        for match in _reference_pattern(terms).finditer(text):
            hit = next((term for term in word_terms(analyzer, match.group()) if term in terms), None)
            if hit is not None:
                found.append((match.start(), match.end(), hit))
    literal = sorted(highlights.chinese | highlights.identifiers, key=len, reverse=True)
    if literal:
        pattern = re.compile("|".join(map(re.escape, literal)), re.IGNORECASE)
        found.extend((match.start(), match.end(), match.group().lower()) for match in pattern.finditer(text))
    return sorted(found)


def reference_snippet(highlights: Highlights, text: str, width: int = MAX_CHARS) -> Snippet:
    matches = reference_matches(highlights, text)
    if not matches:
        return _collapse(re.sub(r"\s+", " ", text[: width * 2]).strip()[:width], [])
    start, end = _window(text, *_best_window(matches, width), width)
    return _collapse(text[start:end], [(s - start, e - start) for s, e, _ in matches if s >= start and e <= end])


def highlights_of(query: str) -> Highlights:
    node = parse_query(query)
    assert node is not None
    return build_query(SCHEMA, node)[1]


TEXTS = [
    "Роскомнадзор потребовал блокировку сайта pontorez.com по решению суда № 2-1066/2016. Блокировка "
    "сайтов продолжается; БЛОКИРОВКИ сайтов, блокировкой сайту. Ёлка и елка, ёж. Сайт site sites Sites.",
    "Сведения внесены в единый реестр доменных имён 13.06.2018 по требованию Роскомнадзора. Единого реестра "
    "нет. Единый   реестр\nещё раз: единый реестр.",
    "Twitter received a DMCA takedown notice and is blocking the reported accounts; blocked, blocks, "
    "Notices of making an entry into the Unified register: access will be limited. закон DMCA, закона DMCA.",
    "Mixed homoglyphs: блокирoвка (a Latin o), сайтs, сайтes, site_name, блокировка_сайта, "
    "блокиро\u0301вка (a stress mark), naïve café Straße \u212aelvin İstanbul.",
    "中华人民共和国网络安全法规定网络运营者应当履行安全保护义务。 реестр 网络 реестра",
]
QUERIES = [
    "блокировка", "блокировки", "Роскомнадзор", "сайт", "site", "sites", "ёлка", "ёж", "елка",
    '"единый реестр"', "единый реестр", '"блокировка сайтов"', "blocking", "notices", '"Unified register"',
    '"закон DMCA"', "DMCA OR 网络", "网络安全 реестр", "блокиров*", "блокирoвка", "сайтs", "naïve", "kelvin",
    "2-1066/2016 блокировка", "блокировка -pontorez.com", "блокиро\u0301вка", "istanbul", "реестр NOT 网络",
]


@pytest.mark.parametrize("query", QUERIES)
def test_same_matches_and_snippets_as_a_scan_per_analyser(query: str) -> None:
    highlights = highlights_of(query)
    maker = SnippetMaker(highlights)
    for text in TEXTS:
        assert maker._matches(text) == reference_matches(highlights, text)
        for width in (40, 80, MAX_CHARS):
            assert maker.snippet(text, width) == reference_snippet(highlights, text, width)


# Words near the queries' words, glued with the characters that decide where a word ends.
_PIECES = st.sampled_from([
    "блокировк", "блокиров", "а", "и", "у", "ой", "сайт", "ов", "ы", "site", "s", "es", "ing", "block", "ed",
    "реестр", "еди", "ный", "ёлк", "елк", "Ё", "Е", "ё", "е", "о", "o", "К", "\u212a", "İ", "i", "ı", "ß", "ss",
    "\u0301", "\u200d", "_", "-", " ", " ", ".", "1066", "ι", "\u0345", "Ι", "网络", "DMCA", "dmca",
])
_QUERY_WORDS = st.sampled_from([
    "блокировка", "сайтов", "site", "sites", "blocking", "реестр", "единый", "ёлка", "елк", "dmca", "ι",
    "блокиро\u0301вка", "kelvin", "istanbul", "ıı", "straße", "блокирoвка", "сайтs",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(_QUERY_WORDS, min_size=1, max_size=3), st.booleans(), st.lists(_PIECES, max_size=60))
def test_any_text_same_as_a_scan_per_analyser(words: list[str], phrase: bool, pieces: list[str]) -> None:
    query = f'"{" ".join(words)}"' if phrase else " ".join(words)
    highlights = highlights_of(query)
    text = "".join(pieces)
    maker = SnippetMaker(highlights)
    assert maker._matches(text) == reference_matches(highlights, text)
    assert maker.snippet(text) == reference_snippet(highlights, text)


def test_each_word_is_analysed_once_per_query(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str]] = []

    def counting(analyzer: str, text: str) -> list[str]:
        calls.append((analyzer, text))
        return word_terms(analyzer, text)

    monkeypatch.setattr(snippets, "word_terms", counting)
    highlights = highlights_of("site блокировка")
    maker = SnippetMaker(highlights)
    hit = "The site and the sites: блокировка, блокировки, Site. " * 50
    for _ in range(20):
        maker.snippet(hit)
    assert len(calls) == len(set(calls))
    assert {word for _, word in calls} == {"site", "sites", "блокировка", "блокировки", "Site"}
    # A second query starts afresh.
    calls.clear()
    SnippetMaker(highlights).snippet(hit)
    assert calls


@pytest.mark.parametrize("query", ["site", "реестр", "блокировка", '"единый реестр"', '"закон DMCA"', "blocking"])
def test_one_scan_per_hit_for_both_analysers(query: str) -> None:
    assert len(SnippetMaker(highlights_of(query))._scans) == 1


def test_equal_prefixes_need_no_check() -> None:
    # "site" and "реестр" stem to themselves in both analysers: one pattern, nothing to sort out.
    ((_, checks),) = SnippetMaker(highlights_of("site реестр"))._scans
    assert [(analyzer, begins) for analyzer, _, begins in checks] == [(RUSSIAN, None), (ENGLISH, None)]


def test_other_scripts_scan_once_per_distinct_pattern() -> None:
    # Greek iota folds to a combining mark under re.IGNORECASE: no shared scan, but the two
    # analysers' patterns are the same one, scanned once.
    highlights = Highlights(words={RUSSIAN: {"ιστος"}, ENGLISH: {"ιστος"}})
    assert len(SnippetMaker(highlights)._scans) == 1
    highlights = Highlights(words={RUSSIAN: {"ιστος"}, ENGLISH: {"ιστο"}})
    assert len(SnippetMaker(highlights)._scans) == 2
    text = "ιστος ιστο \u0345στος"
    assert SnippetMaker(highlights)._matches(text) == reference_matches(highlights, text)
