"""Blockpage and DNS fingerprints (OONI's database; data/FINGERPRINTS-PROVENANCE.md).

Confirmation follows ooni/backend fastpath: a match confirms blocking when its expected countries
include the probe's country or its scope is national/ISP; scope "fp" marks known pages that are
not censorship (challenge pages, CDN errors) and never confirms."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources

from censorwatch.analysis.body_scanner import LITERAL, REGEXP, BodyScanner, Pattern, build_scanner
from censorwatch.analysis.header_matcher import HeaderMatcher


@dataclass(frozen=True)
class Fingerprint:
    name: str
    scope: str
    location: str
    pattern_type: str
    pattern: str
    expected_countries: tuple[str, ...]
    _regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def confirms(self, probe_cc: str) -> bool:
        if self.scope == "fp":
            return False
        return probe_cc.upper() in self.expected_countries or self.scope in ("nat", "isp")

    @property
    def is_false_positive_marker(self) -> bool:
        return self.scope == "fp"

    def matches(self, value: str) -> bool:
        kind = self.pattern_type
        if kind == "full":
            return value == self.pattern
        if kind == "prefix":
            return value.startswith(self.pattern)
        if kind == "contains":
            return self.pattern in value
        if kind == "regexp" and self._regex is not None:
            return self._regex.search(value) is not None
        return False


def _compile(pattern: str, kind: str) -> re.Pattern[str] | None:
    if kind != "regexp":
        return None
    try:
        return re.compile(pattern)
    except re.error:
        return None


# The shipped body fingerprints' compiled scanner, kept between processes (compiled_cache.py).
BODY_SCANNER_CACHE = "body-fingerprints"


@dataclass(frozen=True)
class Fingerprints:
    dns: Mapping[str, Fingerprint]
    body: tuple[Fingerprint, ...]
    headers: Mapping[str, tuple[Fingerprint, ...]]

    def match_dns(self, answer: str, probe_cc: str = "ZZ") -> Fingerprint | None:
        return self.dns.get(answer.strip().lower().rstrip("."))

    @cached_property
    def _body_scanner(self) -> BodyScanner:
        return build_scanner(self.body_patterns(), cache_name=BODY_SCANNER_CACHE)

    def body_patterns(self) -> list[Pattern]:
        """The body fingerprints a scanner handles, index for index; `full` and `prefix` ones
        become patterns of no kind the scanner knows, and are matched here."""
        return [Pattern(fp.pattern_type, fp.pattern) for fp in self.body]

    @cached_property
    def _body_anchored(self) -> tuple[int, ...]:
        return tuple(i for i, fp in enumerate(self.body) if fp.pattern_type not in (LITERAL, REGEXP))

    @cached_property
    def _header_matchers(self) -> dict[str, tuple[HeaderMatcher, tuple[Fingerprint, ...]]]:
        return {name: (HeaderMatcher(fps), fps) for name, fps in self.headers.items()}

    def _header_matches(self, name: str, value: str) -> list[Fingerprint]:
        matcher, fingerprints = self._header_matchers.get(name.lower(), (None, ()))
        return [fingerprints[i] for i in matcher.matching(value)] if matcher is not None else []

    def _body_matches(self, body: str) -> list[Fingerprint]:
        """Matching body fingerprints in the order of the database."""
        found = self._body_scanner.scan(body)
        found.update(i for i in self._body_anchored if self.body[i].matches(body))
        return [self.body[i] for i in sorted(found)]

    def match_http(
        self, body: str | None, headers: Mapping[str, str], probe_cc: str = "ZZ"
    ) -> Fingerprint | None:
        """The first matching fingerprint, preferring ones that confirm for probe_cc."""
        found: list[Fingerprint] = []
        if body:
            found.extend(self._body_matches(body))
        for name, value in headers.items():
            found.extend(self._header_matches(name, value))
        if not found:
            return None
        return sorted(found, key=lambda fp: (not fp.confirms(probe_cc), fp.is_false_positive_marker))[0]


def _fingerprint(entry: Mapping[str, object]) -> Fingerprint:
    pattern = str(entry["pattern"])
    kind = str(entry["pattern_type"])
    countries = entry.get("expected_countries") or []
    return Fingerprint(
        name=str(entry["name"]),
        scope=str(entry["scope"]),
        location=str(entry["location"]),
        pattern_type=kind,
        pattern=pattern,
        expected_countries=tuple(str(c) for c in countries) if isinstance(countries, list) else (),
        _regex=_compile(pattern, kind),
    )


@cache
def load_fingerprints() -> Fingerprints:
    text = resources.files("censorwatch.data").joinpath("fingerprints.json").read_text("utf-8")
    document = json.loads(text)
    dns = {fp.pattern.strip().lower(): fp for fp in map(_fingerprint, document["dns"])}
    http = [_fingerprint(entry) for entry in document["http"]]
    headers: dict[str, list[Fingerprint]] = {}
    for fp in http:
        if fp.location.startswith("header."):
            headers.setdefault(fp.location.removeprefix("header.").lower(), []).append(fp)
    return Fingerprints(
        dns=dns,
        body=tuple(fp for fp in http if fp.location == "body"),
        headers={name: tuple(fps) for name, fps in headers.items()},
    )
