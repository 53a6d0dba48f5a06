"""Compiled pattern databases kept on disk: a later process loads what an earlier one compiled,
and anything else in the file (other patterns, damage, another Hyperscan) means compiling again,
with the same answers."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from censorwatch.analysis import body_scanner, compiled_cache
from censorwatch.analysis.body_scanner import LITERAL, REGEXP, HyperscanScanner, Pattern
from censorwatch.analysis.compiled_cache import CACHE_ENV, cached_path, load_or_compile

needs_hyperscan = pytest.mark.skipif(body_scanner.hyperscan is None, reason="hyperscan is built for x86-64 only")

PATTERNS = [Pattern(LITERAL, "Access denied"), Pattern(REGEXP, r"blocked by [A-Z]\w+"), Pattern(LITERAL, "zapret")]
OTHER = [Pattern(LITERAL, "something else"), Pattern(LITERAL, "Access denied")]
BODY = "<h1>Access denied</h1><p>This page was blocked by Roskomnadzor</p>"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


class Compiles:
    """A stand-in for a compiler that counts its calls (for load_or_compile itself)."""

    def __init__(self, result: bytes | None) -> None:
        self.result, self.calls = result, 0

    def __call__(self) -> bytes | None:
        self.calls += 1
        return self.result


def identity(data: bytes) -> bytes:
    return data


def test_a_second_call_loads_what_the_first_compiled(cache: Path) -> None:
    first, second = Compiles(b"database one"), Compiles(b"never used")
    assert load_or_compile("x", b"key", first, identity, identity) == b"database one"
    assert load_or_compile("x", b"key", second, identity, identity) == b"database one"
    assert (first.calls, second.calls) == (1, 0)
    assert [p.name for p in cache.iterdir()] == ["x.hsdb"]  # no temporary file left


def test_another_key_compiles_and_replaces_the_file(cache: Path) -> None:
    load_or_compile("x", b"old patterns", Compiles(b"old"), identity, identity)
    newer = Compiles(b"new")
    assert load_or_compile("x", b"new patterns", newer, identity, identity) == b"new"
    assert newer.calls == 1
    assert load_or_compile("x", b"new patterns", Compiles(b"unused"), identity, identity) == b"new"
    assert len(list(cache.iterdir())) == 1


@pytest.mark.parametrize("damage", ["flip a payload byte", "cut short", "empty"])
def test_a_damaged_file_is_compiled_again(cache: Path, damage: str) -> None:
    load_or_compile("x", b"key", Compiles(b"database bytes"), identity, identity)
    path = cached_path("x")
    data = bytearray(path.read_bytes())
    if damage == "flip a payload byte":
        data[-3] ^= 0x20
    elif damage == "cut short":
        data = data[:40]
    else:
        data = bytearray()
    path.write_bytes(bytes(data))
    again = Compiles(b"database bytes")
    assert load_or_compile("x", b"key", again, identity, identity) == b"database bytes"
    assert again.calls == 1
    assert path.read_bytes().endswith(b"database bytes")  # replaced by a whole file


def test_a_payload_the_loader_refuses_is_compiled_again(cache: Path) -> None:
    load_or_compile("x", b"key", Compiles(b"from another version"), identity, identity)
    again = Compiles(b"fresh")
    assert load_or_compile("x", b"key", again, identity, lambda _: None) == b"fresh"
    assert again.calls == 1


def test_nothing_compiled_is_nothing_kept(cache: Path) -> None:
    assert load_or_compile("x", b"key", Compiles(None), identity, identity) is None
    assert not cached_path("x").exists()


def test_a_cache_that_cannot_be_written_only_costs_compiling(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not a directory"
    blocker.write_text("a file where the cache directory would be")
    monkeypatch.setenv(CACHE_ENV, str(blocker / "cache"))
    compiles = Compiles(b"db")
    assert load_or_compile("x", b"key", compiles, identity, identity) == b"db"
    assert load_or_compile("x", b"key", compiles, identity, identity) == b"db"
    assert compiles.calls == 2


def test_the_directory_follows_xdg_without_an_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert compiled_cache.cache_directory() == tmp_path / "censorwatch"


def found(scanner: HyperscanScanner) -> set[int]:
    return scanner.scan(BODY)


@needs_hyperscan
def test_a_hyperscan_database_from_the_cache_gives_the_same_answers(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled = found(HyperscanScanner(PATTERNS, cache_name="t"))
    assert compiled == {0, 1}
    assert cached_path("t").is_file()

    def no_compiling(expressions: dict[int, bytes]) -> Any:
        raise AssertionError("compiled although the cache holds the database")

    monkeypatch.setattr(body_scanner, "_database", no_compiling)
    assert found(HyperscanScanner(PATTERNS, cache_name="t")) == compiled


@needs_hyperscan
def test_a_hyperscan_cache_of_other_patterns_is_not_used(cache: Path) -> None:
    HyperscanScanner(PATTERNS, cache_name="t")
    assert HyperscanScanner(OTHER, cache_name="t").scan(BODY) == {1}
    assert HyperscanScanner(PATTERNS, cache_name="t").scan(BODY) == {0, 1}


@needs_hyperscan
def test_a_database_hyperscan_refuses_is_compiled_again(cache: Path) -> None:
    HyperscanScanner(PATTERNS, cache_name="t")
    path = cached_path("t")
    data = path.read_bytes()
    # Key and checksum intact, the database itself not one Hyperscan accepts (as a database of
    # another Hyperscan version would be).
    payload = b"\x00" * (len(data) - 64)
    path.write_bytes(data[:32] + hashlib.sha256(payload).digest() + payload)
    assert found(HyperscanScanner(PATTERNS, cache_name="t")) == {0, 1}
    assert path.read_bytes() == data  # compiled again and kept


@needs_hyperscan
def test_the_shipped_fingerprints_use_the_cache(cache: Path) -> None:
    from censorwatch.analysis.fingerprints import BODY_SCANNER_CACHE, load_fingerprints

    scanner = body_scanner.build_scanner(load_fingerprints().body_patterns(), cache_name=BODY_SCANNER_CACHE)
    assert scanner.engine == "hyperscan"
    assert cached_path(BODY_SCANNER_CACHE).stat().st_size > 100_000
