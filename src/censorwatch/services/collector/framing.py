"""Self-checking frames for the collector's append-only spool.

One frame = MAGIC (4 bytes) | payload length (u32, big-endian) | CRC-32 of the payload (u32) | payload.
A kill -9 can leave only the last frame of a segment incomplete (appends are sequential and have
one writer), so a reader that stops trusting bytes at the first short or mismatching frame never
returns a half-written record. The magic starts with 0xFF, a byte that never occurs in UTF-8 text,
so after a damaged frame in the middle of a file (disk damage, not a crash) the reader can find the
next frame boundary again without misreading JSON payload bytes as a header.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, Final

MAGIC: Final = b"\xffCW1"
HEADER: Final = struct.Struct(">4sII")
HEADER_SIZE: Final = HEADER.size
# A frame announcing more than this is damage, not data (bodies are capped far below it).
MAX_PAYLOAD: Final = 1 << 30
_READ_CHUNK: Final = 1 << 20


def encode_frame(payload: bytes) -> bytes:
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes exceeds the frame limit")
    return HEADER.pack(MAGIC, len(payload), zlib.crc32(payload)) + payload


@dataclass(frozen=True)
class Frame:
    offset: int  # where the frame starts
    end: int  # where the next frame starts
    payload: bytes


@dataclass
class ScanReport:
    """What a scan skipped: `torn_tail` bytes at the end (an interrupted append) and damaged
    regions in the middle (`damaged` regions, `damaged_bytes` in total)."""

    frames: int = 0
    torn_tail: int = 0
    damaged: int = 0
    damaged_bytes: int = 0
    notes: list[str] = field(default_factory=list)


def scan_frames(stream: BinaryIO, report: ScanReport, start: int = 0) -> Iterator[Frame]:
    """Yield every intact frame from `start` on, streaming (one frame in memory at a time)."""
    stream.seek(start)
    offset = start
    while True:
        header = stream.read(HEADER_SIZE)
        if not header:
            return
        if len(header) < HEADER_SIZE:
            report.torn_tail += len(header)
            return
        magic, length, checksum = HEADER.unpack(header)
        # A bad header is not trusted for a length: its payload is never read.
        payload = stream.read(length) if magic == MAGIC and length <= MAX_PAYLOAD else None
        if payload is None or len(payload) < length or zlib.crc32(payload) != checksum:
            resumed = _resync(stream, offset + 1)
            if resumed is None:
                # The last frame is short, has a bad header or fails its checksum: an append cut
                # short. A frame that is followed by others was damaged some other way (a failed
                # write the writer moved past): skip to the next frame rather than drop what follows.
                report.torn_tail += _size(stream) - offset
                return
            report.damaged += 1
            report.damaged_bytes += resumed - offset
            offset = resumed
            stream.seek(offset)
            continue
        end = offset + HEADER_SIZE + length
        report.frames += 1
        yield Frame(offset, end, payload)
        offset = end


def _size(stream: BinaryIO) -> int:
    return stream.seek(0, 2)


def _resync(stream: BinaryIO, position: int) -> int | None:
    """The offset of the next MAGIC at or after `position`, or None."""
    carry = b""
    base = position
    stream.seek(position)
    while True:
        chunk = stream.read(_READ_CHUNK)
        if not chunk:
            return None
        window = carry + chunk
        found = window.find(MAGIC)
        if found >= 0:
            return base - len(carry) + found
        carry = window[-(len(MAGIC) - 1):]
        base += len(chunk)
