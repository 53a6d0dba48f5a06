"""The one-pass body scan finds exactly the fingerprints that checking each pattern in turn finds."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from censorwatch.analysis.fingerprints import Fingerprint, load_fingerprints

FINGERPRINTS = load_fingerprints()
CONTAINS = [fp.pattern for fp in FINGERPRINTS.body if fp.pattern_type == "contains" and fp.pattern]


def one_by_one(body: str) -> list[Fingerprint]:
    return [fp for fp in FINGERPRINTS.body if fp.matches(body)]


def test_the_shipped_set_has_contains_patterns() -> None:
    assert len(CONTAINS) > 1000


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(CONTAINS), st.text(max_size=40)), max_size=8))
def test_scan_equals_pattern_by_pattern(parts: list[str]) -> None:
    body = "".join(parts)
    assert FINGERPRINTS._body_matches(body) == one_by_one(body)


def test_overlapping_and_repeated_patterns() -> None:
    body = " ".join(CONTAINS[:50]) + CONTAINS[0] * 3 + CONTAINS[-1][:-1]
    found = FINGERPRINTS._body_matches(body)
    assert found == one_by_one(body)
    assert len(found) >= 50
    assert FINGERPRINTS._body_matches("") == one_by_one("")
