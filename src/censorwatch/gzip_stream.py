"""The inflated stream of a gzip file, in large blocks. Shared by the readers of measurement
files (sources/line_reader.py) and of the gzip files the store keeps whole (store/raw_access.py).

Python 3.11's gzip module reads through an 8 KiB buffer and checks the CRC-32 in Python-level
calls: three round trips per average OONI line. Here the inflater handles the gzip header,
trailer and CRC-32 itself (wbits 31) on 1 MiB reads. The inflater is the fastest installed with
zlib's interface and the same checks (tests/unit/test_line_reader.py runs every test with each):
ISA-L's (isal_zlib), which inflates the bench's files 1.3 times as fast as zlib-ng's (0.43
against 0.55 CPU s per 482 MB of JSON), zlib-ng's, 1.9 times as fast as zlib, or zlib's.

Bounded memory whatever the input: zlib returns at most STEP_BYTES per call (a gzip bomb costs
time, never memory)."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from types import ModuleType
from typing import BinaryIO

INFLATER: ModuleType
try:
    from isal import isal_zlib as INFLATER
except ImportError:  # no wheel for this platform: the next fastest
    try:
        from zlib_ng import zlib_ng as INFLATER
    except ImportError:  # no wheel for this platform: the standard library's zlib
        INFLATER = zlib
READ_BYTES = 1 << 20
STEP_BYTES = 8 << 20
_GZIP = 16 + zlib.MAX_WBITS  # a gzip wrapper, whose trailer zlib checks


def gzip_blocks(handle: BinaryIO) -> Iterator[bytes]:
    """The inflated stream of a gzip file, at most STEP_BYTES at a time. Raises zlib.error for
    data that is not gzip or is corrupt and EOFError for a file cut short, after yielding every
    block before the damage."""
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
