"""ZIP members read in bounded memory, whatever the archive declares: for ZIP archives and DOCX.

zipfile parses the central directory (after its size is checked here); members are decompressed
here from the raw bytes, counting what comes out, because zipfile's bzip2 and LZMA readers
decompress each input chunk without an output limit and its readers stop at the declared size
rather than at a limit of ours. Overlapping members (David Fifield's non-recursive zip bomb) are
refused outright: no real archive has them."""

from __future__ import annotations

import bz2
import io
import itertools
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from ..model import ExtractionFailed
from .encoding import best_cyrillic
from .limits import (
    MAX_ZIP_DIRECTORY,
    MAX_ZIP_MEMBER,
    MAX_ZIP_MEMBERS,
    MAX_ZIP_RATIO,
    MAX_ZIP_TOTAL,
    ZIP_RATIO_FLOOR,
    MiB,
)

_END = b"PK\x05\x06"
_END_64_LOCATOR = b"PK\x06\x07"
_LOCAL = b"PK\x03\x04"
_STORED, _DEFLATED, _BZIP2 = 0, 8, 12
_CHUNK = 1 * MiB
_UTF8_NAMES = 0x800
_ENCRYPTED = 0x1


class MemberSkipped(Exception):
    """One member that is not returned; the archive goes on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Budget:
    """Bytes the remaining members of one archive may still expand to."""

    left: int = MAX_ZIP_TOTAL


def open_archive(data: bytes) -> zipfile.ZipFile:
    """The archive's directory, checked: member count, directory size, no overlapping members."""
    _check_end_record(data)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, struct.error) as error:
        raise ExtractionFailed(f"corrupt ZIP archive: {error}") from None
    infos = archive.infolist()
    if len(infos) > MAX_ZIP_MEMBERS:
        raise ExtractionFailed(f"ZIP archive with {len(infos)} members, more than {MAX_ZIP_MEMBERS}")
    _check_overlaps(data, infos)
    return archive


def member_name(info: zipfile.ZipInfo) -> str:
    """The member's name as its author's system wrote it: without the UTF-8 flag zipfile reads
    cp437, but Russian Windows archivers write cp866 and others UTF-8 without saying so."""
    name = info.filename
    if info.flag_bits & _UTF8_NAMES or name.isascii():
        return name
    try:
        raw = name.encode("cp437")
    except UnicodeEncodeError:
        return name
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    return raw.decode("cp866") if best_cyrillic(raw) == "cp866" else name


def read_member(data: bytes, info: zipfile.ZipInfo, budget: Budget, limit: int = MAX_ZIP_MEMBER) -> bytes:
    """The member's bytes, or MemberSkipped: encrypted, unsupported method, over a bound, corrupt."""
    if info.flag_bits & _ENCRYPTED:
        raise MemberSkipped("encrypted")
    if info.compress_type not in (_STORED, _DEFLATED, _BZIP2):
        raise MemberSkipped(f"compression method {info.compress_type} not supported")
    raw = _raw_member(data, info)
    cap = min(limit, budget.left)
    chunks: list[bytes] = []
    size = crc = 0
    try:
        for chunk, consumed in _decompressed(raw, info.compress_type):
            size += len(chunk)
            # Judged on the compressed bytes consumed so far, not on any declared size: a bomb
            # is stopped after a few MiB, not after its ratio times its whole compressed size.
            if size > ZIP_RATIO_FLOOR and size > MAX_ZIP_RATIO * consumed:
                raise MemberSkipped(f"expands more than {MAX_ZIP_RATIO} times its compressed size (a zip bomb?)")
            if size > cap:
                raise MemberSkipped(f"expands beyond {cap // MiB} MiB, the limit left for this archive")
            crc = zlib.crc32(chunk, crc)
            chunks.append(chunk)
    except (zlib.error, OSError, EOFError, ValueError) as error:
        raise MemberSkipped(f"corrupt: {error}") from None
    if crc != info.CRC:
        raise MemberSkipped("corrupt: CRC mismatch")
    budget.left -= size
    return b"".join(chunks)


def read_named(data: bytes, archive: zipfile.ZipFile, name: str, limit: int) -> bytes | None:
    """A member by name (None when absent); over a bound or corrupt fails the whole file."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        return None
    try:
        return read_member(data, info, Budget(limit), limit)
    except MemberSkipped as skipped:
        raise ExtractionFailed(f"{name}: {skipped.reason}") from None


def _decompressed(raw: memoryview, method: int) -> Iterator[tuple[bytes, int]]:
    """The member's content, at most _CHUNK bytes at a time however dense the input, each chunk
    with the count of compressed bytes consumed so far (all of them for bzip2, which takes its
    input whole)."""
    if method == _STORED:
        for start in range(0, len(raw), _CHUNK):
            yield bytes(raw[start : start + _CHUNK]), start + _CHUNK
    elif method == _DEFLATED:
        inflate = zlib.decompressobj(-15)
        pending: bytes | memoryview = raw
        while not inflate.eof:
            before = len(pending)
            chunk = inflate.decompress(pending, _CHUNK)
            pending = inflate.unconsumed_tail
            if chunk:
                yield chunk, len(raw) - len(pending)
            elif len(pending) >= before:
                break  # no progress: a truncated stream, which the CRC check reports
    else:
        bunzip = bz2.BZ2Decompressor()
        data: bytes | memoryview = raw
        while not bunzip.eof:
            chunk = bunzip.decompress(data, _CHUNK)
            data = b""
            if not chunk:
                break  # truncated, as above
            yield chunk, len(raw)


def _raw_member(data: bytes, info: zipfile.ZipInfo) -> memoryview:
    offset = info.header_offset
    header = data[offset : offset + 30]
    if len(header) < 30 or not header.startswith(_LOCAL):
        raise MemberSkipped("corrupt: no local header where the directory says")
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    start = offset + 30 + name_length + extra_length
    return memoryview(data)[start : start + info.compress_size]


def _check_end_record(data: bytes) -> None:
    """Refuse, before zipfile builds an object per entry, a directory that is too big."""
    at = data.rfind(_END, max(0, len(data) - 65_557))
    if at < 0 or len(data) < at + 22:
        return  # zipfile reports the corruption in its own words
    _, _, _, entries, directory_size, _, _ = struct.unpack("<4H2LH", data[at + 4 : at + 22])
    locator = at - 20
    if locator >= 0 and data[locator : locator + 4] == _END_64_LOCATOR:
        (record,) = struct.unpack("<Q", data[locator + 8 : locator + 16])
        fields = data[record + 24 : record + 48]
        if data[record : record + 4] == b"PK\x06\x06" and len(fields) == 24:
            _, entries, directory_size = struct.unpack("<3Q", fields)
    if entries > MAX_ZIP_MEMBERS:
        raise ExtractionFailed(f"ZIP archive with {entries} members, more than {MAX_ZIP_MEMBERS}")
    if directory_size > MAX_ZIP_DIRECTORY:
        raise ExtractionFailed(f"ZIP directory of {directory_size // MiB} MiB, more than {MAX_ZIP_DIRECTORY // MiB}")


def _check_overlaps(data: bytes, infos: list[zipfile.ZipInfo]) -> None:
    spans = sorted((info.header_offset, info.header_offset + 30 + info.compress_size) for info in infos)
    for (_, end), (next_start, _) in itertools.pairwise(spans):
        if next_start < end:
            raise ExtractionFailed("ZIP archive with overlapping members (a zip bomb)")
