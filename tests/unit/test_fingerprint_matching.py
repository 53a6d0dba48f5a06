"""Every body scanner engine finds exactly the fingerprints that checking each pattern in turn
finds, on the shipped fingerprint set and on patterns built to trip an engine up."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from censorwatch.analysis import body_scanner
from censorwatch.analysis.body_scanner import LITERAL, REGEXP, BodyScanner, Pattern, build_scanner
from censorwatch.analysis.fingerprints import Fingerprint, load_fingerprints
from censorwatch.analysis.header_matcher import HeaderMatcher

FINGERPRINTS = load_fingerprints()
CONTAINS = [fp.pattern for fp in FINGERPRINTS.body if fp.pattern_type == "contains" and fp.pattern]
REGEXPS = [fp.pattern for fp in FINGERPRINTS.body if fp.pattern_type == "regexp"]
ENGINES = [
    pytest.param(
        "hyperscan",
        marks=pytest.mark.skipif(body_scanner.hyperscan is None, reason="hyperscan is built for x86-64 only"),
    ),
    "aho-corasick",
]


def one_by_one(body: str) -> list[Fingerprint]:
    return [fp for fp in FINGERPRINTS.body if fp.matches(body)]


def regexp_found(text: str, body: str) -> bool:
    try:
        return re.search(text, body) is not None
    except re.error:
        return False


def by_hand(patterns: list[Pattern], body: str) -> set[int]:
    return {
        i
        for i, p in enumerate(patterns)
        if (p.kind == LITERAL and p.text and p.text in body) or (p.kind == REGEXP and regexp_found(p.text, body))
    }


@pytest.fixture(scope="module", params=ENGINES)
def shipped(request: pytest.FixtureRequest) -> BodyScanner:
    return build_scanner(FINGERPRINTS.body_patterns(), request.param)


def found_by(scanner: BodyScanner, body: str) -> list[Fingerprint]:
    anchored = {i for i, fp in enumerate(FINGERPRINTS.body) if fp.pattern_type == "full" and fp.matches(body)}
    indices = scanner.scan(body) | anchored
    return [FINGERPRINTS.body[i] for i in sorted(indices)]


def test_the_shipped_set_has_literals_and_regexps() -> None:
    assert len(CONTAINS) > 1000
    assert len(REGEXPS) >= 10


def test_the_default_engine_is_hyperscan_where_built() -> None:
    expected = "hyperscan" if body_scanner.hyperscan is not None else "aho-corasick"
    assert build_scanner([Pattern(LITERAL, "x")]).engine == expected


@settings(max_examples=150, deadline=None)
@given(parts=st.lists(st.one_of(st.sampled_from(CONTAINS), st.text(max_size=40)), max_size=8))
def test_scan_equals_pattern_by_pattern(shipped: BodyScanner, parts: list[str]) -> None:
    body = "".join(parts)
    assert found_by(shipped, body) == one_by_one(body)


def test_overlapping_and_repeated_patterns(shipped: BodyScanner) -> None:
    body = " ".join(CONTAINS[:50]) + CONTAINS[0] * 3 + CONTAINS[-1][:-1]
    found = found_by(shipped, body)
    assert found == one_by_one(body)
    assert len(found) >= 50
    assert found_by(shipped, "") == one_by_one("")


def test_each_shipped_regexp_is_found_where_python_finds_it(shipped: BodyScanner) -> None:
    # '.' stops at a newline in both engines; the line break between the halves must stop a match.
    samples = {
        "<meta name=\"x\" content=\"twitter:card\">": True,
        "<meta name=\n twitter:card": False,
        "You don't have permission to access /x on this server.<P>": True,
        "<p>The document has moved <a href=\"/y\">here</a>.</p>": True,
    }
    for body, expected in samples.items():
        assert (found_by(shipped, body) == one_by_one(body)), body
        assert bool(one_by_one(body)) is expected, body


@pytest.mark.parametrize("engine", ENGINES)
def test_syntax_characters_nul_and_non_ascii_are_literal(engine: str) -> None:
    patterns = [
        Pattern(LITERAL, "a.b"),
        Pattern(LITERAL, "(x|y)*"),
        Pattern(LITERAL, "nul\x00inside"),
        Pattern(LITERAL, "Доступ ограничен"),
        Pattern(LITERAL, "访问被拒绝"),
        Pattern(LITERAL, "\\d+"),
        Pattern(REGEXP, "a.c"),
        Pattern(REGEXP, "(unbalanced"),  # not a valid expression anywhere: never matches
        Pattern(REGEXP, "n\x00l"),
        Pattern("full", "a.b"),  # not a scanner kind: left to the caller
    ]
    scanner = build_scanner(patterns, engine)
    bodies = ["axb", "a.b", "xy", "(x|y)*", "nul\x00inside", "nul", "…Доступ ограничен…", "访问被拒绝!",
              "\\d+", "123", "abc", "a\nc", "n\x00l", "", "\ud800 lone surrogate a.b"]
    for body in bodies:
        assert scanner.scan(body) == by_hand(patterns, body), repr(body)


@pytest.mark.skipif(body_scanner.hyperscan is None, reason="hyperscan is built for x86-64 only")
def test_an_expression_hyperscan_rejects_is_matched_by_python() -> None:
    # Back-references are valid for Python's re but not for Hyperscan.
    patterns = [Pattern(LITERAL, "blocked"), Pattern(REGEXP, r"(ab)\1"), Pattern(REGEXP, "c+d")]
    scanner = build_scanner(patterns, "hyperscan")
    for body in ("abab", "ab", "blocked ccd", "abab blocked"):
        assert scanner.scan(body) == by_hand(patterns, body), body


def test_an_unknown_engine_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown body scanner"):
        build_scanner([], "grep")


# --- header fingerprints: HeaderMatcher against Fingerprint.matches, pattern by pattern ---

HEADER_PATTERNS = sorted({fp.pattern for fps in FINGERPRINTS.headers.values() for fp in fps})


def header_one_by_one(name: str, value: str) -> list[Fingerprint]:
    return [fp for fp in FINGERPRINTS.headers.get(name, ()) if fp.matches(value)]


def test_the_shipped_headers_have_many_location_prefixes_and_substrings() -> None:
    kinds = [fp.pattern_type for fp in FINGERPRINTS.headers["location"]]
    assert kinds.count("prefix") > 200 and kinds.count("contains") > 100 and "full" in kinds


@settings(max_examples=300, deadline=None)
@given(
    name=st.sampled_from(sorted(FINGERPRINTS.headers)),
    parts=st.lists(
        st.one_of(
            st.sampled_from(HEADER_PATTERNS),
            st.sampled_from(HEADER_PATTERNS).map(lambda p: p[: len(p) // 2]),
            st.text(max_size=20),
        ),
        max_size=4,
    ),
)
def test_header_matching_equals_pattern_by_pattern(name: str, parts: list[str]) -> None:
    value = "".join(parts)
    assert FINGERPRINTS._header_matches(name, value) == header_one_by_one(name, value)


def test_every_shipped_header_pattern_as_the_value_prefix_and_inside() -> None:
    checked = 0
    for name in FINGERPRINTS.headers:
        for pattern in HEADER_PATTERNS:
            for value in (pattern, pattern + "/x", "x" + pattern, pattern[:-1], pattern * 2, ""):
                assert FINGERPRINTS._header_matches(name, value) == header_one_by_one(name, value), (name, value)
                checked += 1
    assert checked > 2000


def test_header_names_are_matched_in_any_case() -> None:
    location = next(fp for fp in FINGERPRINTS.headers["location"] if fp.pattern_type == "prefix")
    found = FINGERPRINTS.match_http(None, {"Location": location.pattern + "?q=1"})
    assert found == location


def test_header_matcher_edge_patterns() -> None:
    patterns = [
        Fingerprint("a", "nat", "header.x", "prefix", "http://b/", ()),
        Fingerprint("b", "nat", "header.x", "contains", "http://b/", ()),  # the same text, another kind
        Fingerprint("c", "nat", "header.x", "full", "http://b/", ()),
        Fingerprint("d", "nat", "header.x", "contains", "", ()),  # in every value, as `"" in value`
        Fingerprint("e", "nat", "header.x", "prefix", "", ()),
        Fingerprint("f", "nat", "header.x", "regexp", "b/$", (), re.compile("b/$")),
        Fingerprint("g", "nat", "header.x", "regexp", "(broken", ()),  # never matches
        Fingerprint("h", "nat", "header.x", "contains", "ab", ()),
        Fingerprint("i", "nat", "header.x", "prefix", "Доступ", ()),
        Fingerprint("j", "nat", "header.x", "glob", "*", ()),  # no such kind: never matches
    ]
    matcher = HeaderMatcher(patterns)
    for value in ("http://b/", "xhttp://b/", "http://b/c", "", "ababab", "Доступ закрыт", "нет Доступ", "b/"):
        assert matcher.matching(value) == [i for i, fp in enumerate(patterns) if fp.matches(value)], value
