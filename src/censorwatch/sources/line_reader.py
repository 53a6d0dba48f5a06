"""Lines of measurement files, plain or gzip, read in large blocks.

Python 3.11's gzip module reads through an 8 KiB buffer and checks the CRC-32 in Python-level
calls: three round trips per average OONI line. Here the inflater handles the gzip header,
trailer and CRC-32 itself (wbits 31) on 1 MiB reads, and lines are cut from what it returns.
The inflater is zlib-ng's where it is installed: it inflates OONI's cans 2.8 times as fast as
zlib (bench/bench_ingest.py), with zlib's interface and the same checks; zlib otherwise.

Bounded memory whatever the input: zlib returns at most STEP_BYTES per call (a gzip bomb costs
time, never memory), and a line longer than `max_line` is dropped as it arrives and reported as
None in its place."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from types import ModuleType
from typing import BinaryIO

INFLATER: ModuleType
try:
    from zlib_ng import zlib_ng as INFLATER
except ImportError:  # no wheel for this platform: the standard library's zlib
    INFLATER = zlib
READ_BYTES = 1 << 20
STEP_BYTES = 8 << 20
_GZIP = 16 + zlib.MAX_WBITS  # a gzip wrapper, whose trailer zlib checks


class LineSplitter:
    """Cuts a stream of blocks into lines (without their b"\\n"); None stands for a line that
    was longer than max_line. `start` is where the line last returned begins in the stream, so a
    reader can find it again (store/cans.py keeps gzip files whole and remembers the offsets)."""

    def __init__(self, max_line: int) -> None:
        self.max_line = max_line
        self.start = 0
        self._next = 0  # where the line after the one returned begins
        self._fed = 0
        self._pieces: list[bytes] = []
        self._size = 0
        self._too_long = False

    def feed(self, block: bytes) -> Iterator[bytes | None]:
        lines = block.split(b"\n")
        end = self._fed
        self._fed += len(block)
        for line in lines[:-1]:
            end += len(line) + 1
            self.start, self._next = self._next, end
            yield self._complete(line)
        self._hold(lines[-1])

    def end(self) -> Iterator[bytes | None]:
        """The last line when the stream does not end with a line break."""
        if self._pieces or self._too_long:
            self.start = self._next
            yield self._complete(b"")

    def _hold(self, piece: bytes) -> None:
        if not piece or self._too_long:
            return
        self._size += len(piece)
        if self._size > self.max_line:
            self._pieces, self._size, self._too_long = [], 0, True
        else:
            self._pieces.append(piece)

    def _complete(self, piece: bytes) -> bytes | None:
        if self._too_long:
            self._too_long = False
            return None
        if not self._pieces:
            return piece if len(piece) <= self.max_line else None
        self._hold(piece)
        if self._too_long:
            self._too_long = False
            return None
        line = b"".join(self._pieces)
        self._pieces, self._size = [], 0
        return line


def plain_lines(handle: BinaryIO, max_line: int, splitter: LineSplitter | None = None) -> Iterator[bytes | None]:
    splitter = splitter or LineSplitter(max_line)
    while block := handle.read(READ_BYTES):
        yield from splitter.feed(block)
    yield from splitter.end()


def gzip_lines(handle: BinaryIO, max_line: int, splitter: LineSplitter | None = None) -> Iterator[bytes | None]:
    """Raises zlib.error for data that is not gzip or is corrupt (CRC-32, length) and EOFError
    for a file cut short, after yielding every line before the damage. Members written one after
    another are read as one stream, as gzip does; NUL padding after the last is ignored."""
    splitter = splitter or LineSplitter(max_line)
    for block in gzip_blocks(handle):
        yield from splitter.feed(block)
    yield from splitter.end()


def gzip_blocks(handle: BinaryIO) -> Iterator[bytes]:
    """The inflated stream of a gzip file, at most STEP_BYTES at a time; raises as gzip_lines."""
    try:
        yield from _gzip_blocks(handle)
    except INFLATER.error as error:
        if INFLATER is zlib:
            raise
        raise zlib.error(str(error)) from error  # one exception type for callers, whichever inflater


def _gzip_blocks(handle: BinaryIO) -> Iterator[bytes]:
    decompressor = INFLATER.decompressobj(_GZIP)
    in_member = False
    data = b""
    while True:
        if not data:
            data = handle.read(READ_BYTES)
            if not data:
                break
        if not in_member:
            data = data.lstrip(b"\x00")
            if not data:
                continue
            in_member = True
        block = decompressor.decompress(data, STEP_BYTES)
        data = decompressor.unconsumed_tail
        if decompressor.eof:
            data, in_member = decompressor.unused_data, False
            decompressor = INFLATER.decompressobj(_GZIP)
        if block:
            yield block
    if in_member:
        raise EOFError("compressed file ended before the end of its last gzip member")
