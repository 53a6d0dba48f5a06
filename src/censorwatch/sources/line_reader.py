"""Lines of measurement files, plain or gzip, read in large blocks (gzip_stream.py inflates).

Bounded memory whatever the input: a line longer than `max_line` is dropped as it arrives and
reported as None in its place."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from censorwatch import gzip_stream
from censorwatch.gzip_stream import gzip_blocks


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


def plain_lines(handle: BinaryIO, max_line: int) -> Iterator[bytes | None]:
    splitter = LineSplitter(max_line)
    while block := handle.read(gzip_stream.READ_BYTES):
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
