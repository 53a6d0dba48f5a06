"""The stored form of a raw measurement: its UTF-8 JSON bytes, exactly as received, in one zstd
frame (level 1).

Why compressed: OONI measurements are large JSON (24 KB on average in the real files, 500 KB for
some), and handing DuckDB the text cost more than reading it (bench/bench_ingest.py: inserting
108 MB of text took 0.26 s against 0.10 s to compress it and 0.05 s to insert the frames). Level 1
shrinks OONI JSON about 5.8 times at about 1 GB/s, so the store ends up the size of OONI's own
gzip cans. The frame records the content size, so `decompress` needs nothing else. (A DuckDB function
decompressing in SQL would need numpy for Python UDFs; `censorwatch export` and the web API give
the JSON back instead.)"""

from __future__ import annotations

import threading

import zstandard

LEVEL = 1
_local = threading.local()


def _compressor() -> zstandard.ZstdCompressor:
    # A compressor is not safe for concurrent use: one per thread (the collector writes from one
    # thread while the web app reads from others).
    compressor = getattr(_local, "compressor", None)
    if compressor is None:
        compressor = _local.compressor = zstandard.ZstdCompressor(level=LEVEL)
    return compressor


def _decompressor() -> zstandard.ZstdDecompressor:
    decompressor = getattr(_local, "decompressor", None)
    if decompressor is None:
        decompressor = _local.decompressor = zstandard.ZstdDecompressor()
    return decompressor


def compress(raw: bytes | memoryview) -> bytes:
    return _compressor().compress(raw)


def decompress(frame: bytes) -> bytes:
    """Raises zstandard.ZstdError for anything that is not one of our frames."""
    return _decompressor().decompress(frame)

