"""A stored measurement's bytes as received, wherever the store keeps them: a zstd frame in the
row (`raw_zstd`), or a span of a can (`raw_can`, `raw_offset`, `raw_length`; store/cans.py).

A gzip stream can only be read from its start, so a can is read by a CanReader that moves
forward: reading spans in file order costs one pass over the file, a span before the last one
read starts the pass again. Callers reading many rows order them by can and offset where they
can (Store.iter_measurements, store/export.py)."""

from __future__ import annotations

import zlib
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import duckdb
import zstandard

from censorwatch.gzip_stream import gzip_blocks
from censorwatch.store.cans import CanShelf, cans_directory
from censorwatch.store.raw_codec import decompress

OPEN_READERS = 16  # cans read at once; each holds an inflater, a file and one block (<= 8 MiB)
# No measurement the file readers accept is longer (sources/ooni_files.MAX_LINE_BYTES): a longer
# span comes from a damaged or hostile row, and reading it would hold that much in memory.
MAX_SPAN = 64 * 1024 * 1024


class RawUnavailable(Exception):
    """The measurement's bytes cannot be read back: a damaged frame, a can missing or damaged."""


class CanReader:
    """Spans of one can's decompressed stream."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: BinaryIO | None = None
        self._blocks: Iterator[bytes] = iter(())
        self._block = b""
        self._block_start = 0  # stream offset of self._block[0]

    def read(self, offset: int, length: int) -> bytes:
        if offset < 0 or not 0 <= length <= MAX_SPAN:
            raise RawUnavailable(f"{self.path.name}: no measurement spans {length} bytes at offset {offset}")
        if self._handle is None or offset < self._block_start:
            self._restart()
        pieces: list[bytes] = []
        end = offset + length
        try:
            while offset < end:
                block_end = self._block_start + len(self._block)
                if offset < block_end:
                    stop = min(end, block_end)
                    pieces.append(self._block[offset - self._block_start : stop - self._block_start])
                    offset = stop
                    continue
                self._block_start, self._block = block_end, next(self._blocks, b"")
                if not self._block:
                    raise RawUnavailable(f"{self.path.name} ends before offset {offset}")
        except (zlib.error, EOFError, OSError) as error:
            self.close()
            raise RawUnavailable(f"{self.path.name}: {type(error).__name__}: {error}") from error
        return b"".join(pieces)

    def _restart(self) -> None:
        self.close()
        try:
            self._handle = self.path.open("rb")
        except OSError as error:
            raise RawUnavailable(f"can {self.path.name} cannot be opened: {error.strerror or error}") from error
        self._blocks = gzip_blocks(self._handle)
        self._block, self._block_start = b"", 0

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        self._blocks, self._block, self._block_start = iter(()), b"", 0


class RawFetcher:
    """Raw bytes of rows from one store; keeps up to OPEN_READERS cans open between calls."""

    def __init__(self, shelf: CanShelf | None) -> None:
        self.shelf = shelf
        self._readers: OrderedDict[str, CanReader] = OrderedDict()

    @classmethod
    def of_connection(cls, con: duckdb.DuckDBPyConnection) -> RawFetcher:
        """For a connection opened on a store's file (the web app's, which has no Store)."""
        found = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
        return cls(CanShelf(cans_directory(Path(found[0]))) if found and found[0] else None)

    def raw(self, row: Mapping[str, Any]) -> bytes:
        """Raises RawUnavailable when the bytes cannot be read back."""
        frame = row.get("raw_zstd")
        if frame is not None:
            try:
                return decompress(frame)
            except zstandard.ZstdError as error:
                raise RawUnavailable(f"damaged frame: {error}") from error
        can_id = row.get("raw_can")
        if can_id is None or self.shelf is None:
            raise RawUnavailable("the row keeps no raw measurement")
        return self._reader(str(can_id)).read(int(row["raw_offset"]), int(row["raw_length"]))

    def _reader(self, can_id: str) -> CanReader:
        reader = self._readers.pop(can_id, None)
        if reader is None:
            assert self.shelf is not None
            reader = CanReader(self.shelf.path_of(can_id))
            while len(self._readers) >= OPEN_READERS:
                self._readers.popitem(last=False)[1].close()
        self._readers[can_id] = reader
        return reader

    def close(self) -> None:
        for reader in self._readers.values():
            reader.close()
        self._readers.clear()

    def __enter__(self) -> RawFetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
