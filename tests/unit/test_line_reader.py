"""The block line reader against Python's own gzip and line splitting, on the boundaries and
damage that real cans and hostile files have."""

from __future__ import annotations

import gzip
import io
import random
import tracemalloc
import zlib

import pytest

from censorwatch import gzip_stream
from censorwatch.sources.line_reader import LineSplitter, gzip_lines, plain_lines

INFLATERS = [zlib]
try:
    from zlib_ng import zlib_ng

    INFLATERS.append(zlib_ng)
except ImportError:  # the reader falls back to zlib; nothing else to test then
    pass
try:
    from isal import isal_zlib

    INFLATERS.append(isal_zlib)
except ImportError:
    pass


@pytest.fixture(params=INFLATERS, ids=lambda module: module.__name__, autouse=True)
def inflater(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs with each inflater the reader may use: ISA-L's or zlib-ng's where
    installed, zlib."""
    monkeypatch.setattr(gzip_stream, "INFLATER", request.param)


def _lines_of(data: bytes) -> list[bytes]:
    """What gzip.open + iteration gives, without the line breaks."""
    return [line.removesuffix(b"\n") for line in io.BytesIO(data)]


def _sample(seed: int) -> bytes:
    rng = random.Random(seed)
    lines = [bytes(rng.choice(b"abc{}\":, \r") for _ in range(rng.choice((0, 1, 7, 300, 5000)))) for _ in range(200)]
    return b"\n".join(lines) + (b"\n" if seed % 2 else b"")


@pytest.mark.parametrize("seed", range(6))
def test_same_lines_as_gzip_on_every_block_boundary(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _sample(seed)
    monkeypatch.setattr(gzip_stream, "READ_BYTES", 97)  # compressed reads cut lines anywhere
    monkeypatch.setattr(gzip_stream, "STEP_BYTES", 389)  # and so does zlib's output
    assert list(gzip_lines(io.BytesIO(gzip.compress(data)), 10_000)) == _lines_of(data)
    assert list(plain_lines(io.BytesIO(data), 10_000)) == _lines_of(data)


@pytest.mark.parametrize("seed", range(4))
def test_each_line_knows_where_it_starts(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The offsets the store keeps for lines of gzip files (store/cans.py), including after a
    line dropped for its length."""
    data = _sample(seed)
    monkeypatch.setattr(gzip_stream, "READ_BYTES", 97)
    monkeypatch.setattr(gzip_stream, "STEP_BYTES", 389)
    splitter = LineSplitter(1000)
    seen = [(splitter.start, line) for line in gzip_lines(io.BytesIO(gzip.compress(data)), 1000, splitter)]
    position = 0
    for (start, got), expected in zip(seen, _lines_of(data), strict=True):
        assert start == position
        assert got == (expected if len(expected) <= 1000 else None)
        position += len(expected) + 1


def test_members_one_after_another_and_nul_padding() -> None:
    stream = gzip.compress(b"a\nb") + gzip.compress(b"c\n") + b"\x00" * 1000
    assert list(gzip_lines(io.BytesIO(stream), 100)) == [b"a", b"bc"]
    assert list(gzip_lines(io.BytesIO(b""), 100)) == []


def test_cut_short_file_gives_its_complete_lines_then_eoferror() -> None:
    data = b"".join(b"%d line of some length\n" % i for i in range(5000))
    whole = gzip.compress(data)
    seen: list[bytes | None] = []
    with pytest.raises(EOFError):
        seen.extend(gzip_lines(io.BytesIO(whole[: len(whole) // 2]), 100))
    assert seen and seen == _lines_of(data)[: len(seen)]


def test_corrupt_checksum_and_not_gzip_raise_zlib_error() -> None:
    whole = bytearray(gzip.compress(b"x\n" * 10))
    whole[-8] ^= 0xFF  # CRC-32 of the trailer
    with pytest.raises(zlib.error):
        list(gzip_lines(io.BytesIO(bytes(whole)), 100))
    with pytest.raises(zlib.error):
        list(gzip_lines(io.BytesIO(b'{"plain": "json"}\n'), 100))


def test_overlong_lines_become_none_wherever_they_fall(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gzip_stream, "READ_BYTES", 5)
    data = b"short\n" + b"x" * 50 + b"\nok\n" + b"y" * 11 + b"\n" + b"z" * 30
    expected = [b"short", None, b"ok", None, None]
    assert list(plain_lines(io.BytesIO(data), 10)) == expected
    assert list(gzip_lines(io.BytesIO(gzip.compress(data)), 10)) == expected


def test_gzip_bomb_costs_time_not_memory() -> None:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1 << 20)
    bomb = b"".join(compressor.compress(zeros) for _ in range(256))
    bomb += compressor.compress(b"\nok\n") + compressor.flush()
    assert len(bomb) < 1 << 20  # 256 MiB of one line in well under 1 MiB
    tracemalloc.start()
    try:
        lines = list(gzip_lines(io.BytesIO(bomb), 1 << 20))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert lines == [None, b"ok"]
    assert peak < 40 << 20
