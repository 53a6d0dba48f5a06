"""Messages between IsolatedExtractor and its workers, over pipes.

A frame is 16 bytes (the lengths of a JSON header and of the blobs after it, big-endian), the
header, then the blobs (the file's bytes in a request, the children's bytes in a reply) whose
sizes the header lists. Not pickle: a worker is the process a hostile file may take over, and
unpickling its replies would hand it the parent. Replies are checked field by field."""

from __future__ import annotations

import os
import struct
from datetime import datetime
from typing import Any

import orjson

from ..model import Child, Extracted, ExtractionFailed, TextPart
from .errors import OutOfMemory

PREFIX = struct.Struct(">QQ")
_CHUNK = 1 << 20


class ProtocolError(Exception):
    """A frame that does not say what a frame must."""


Chunks = list[bytes | memoryview]


def frame(header: dict[str, Any], *blobs: bytes | memoryview) -> Chunks:
    encoded = orjson.dumps(header)
    return [PREFIX.pack(len(encoded), sum(len(blob) for blob in blobs)), encoded, *blobs]


def ready() -> Chunks:
    return frame({"type": "ready", "pid": os.getpid()})


def request(data: bytes, name: str, ocr: bool) -> Chunks:
    return frame({"type": "extract", "name": name, "ocr": ocr}, data)


def parse_request(header: dict[str, Any], blob: bytes) -> tuple[bytes, str, bool]:
    if header.get("type") != "extract" or not isinstance(header.get("name"), str):
        raise ProtocolError("not an extract request")
    return blob, header["name"], bool(header.get("ocr", True))


def reply(result: Extracted | ExtractionFailed) -> Chunks:
    if isinstance(result, ExtractionFailed):
        return frame({"type": "failed", "reason": result.reason, "memory": isinstance(result, OutOfMemory)})
    header = {
        "type": "ok",
        "kind": result.kind,
        "title": result.title,
        "date": result.date.isoformat() if result.date is not None else None,
        "parts": [[part.number, part.text, part.language] for part in result.parts],
        "children": [[child.name, len(child.data)] for child in result.children],
        "metadata": result.metadata,
        "needs_ocr": result.needs_ocr,
    }
    return frame(header, *(child.data for child in result.children))


def parse_reply(header: dict[str, Any], blob: memoryview) -> Extracted | ExtractionFailed:
    """The worker's answer; ProtocolError when any field is not what the model says."""
    try:
        if header["type"] == "failed":
            reason = _typed(header["reason"], str)
            return OutOfMemory(reason) if header.get("memory") is True else ExtractionFailed(reason)
        if header["type"] != "ok":
            raise ProtocolError(f"unexpected reply {header['type']!r}")
        children, offset = [], 0
        for name, size in header["children"]:
            if not isinstance(size, int) or size < 0 or offset + size > len(blob):
                raise ProtocolError("children do not add up")
            children.append(Child(_typed(name, str), bytes(blob[offset : offset + size])))
            offset += size
        date = header["date"]
        metadata = header["metadata"]
        if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
            raise ProtocolError("metadata is not text")
        return Extracted(
            kind=_typed(header["kind"], str),
            title=None if header["title"] is None else _typed(header["title"], str),
            date=None if date is None else datetime.fromisoformat(_typed(date, str)),
            parts=tuple(_part(part) for part in header["parts"]),
            children=tuple(children),
            metadata=dict(metadata),
            needs_ocr=_typed(header["needs_ocr"], bool),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ProtocolError(f"malformed reply: {error}") from None


def parse_header(encoded: bytes | bytearray | memoryview) -> dict[str, Any]:
    try:
        header = orjson.loads(encoded)
    except orjson.JSONDecodeError as error:
        raise ProtocolError(f"header is not JSON: {error}") from None
    if not isinstance(header, dict):
        raise ProtocolError("header is not an object")
    return header


def read_blocking(fd: int) -> tuple[dict[str, Any], bytes] | None:
    """One frame from a blocking pipe (the worker's side); None at end of input."""
    prefix = _read_exactly(fd, PREFIX.size)
    if prefix is None:
        return None
    header_size, blob_size = PREFIX.unpack(prefix)
    header = _read_exactly(fd, header_size)
    blob = _read_exactly(fd, blob_size)
    if header is None or blob is None:
        raise ProtocolError("frame cut short")
    return parse_header(header), blob


def write_blocking(fd: int, chunks: Chunks) -> None:
    for chunk in chunks:
        view = memoryview(chunk)
        while view:
            written = os.write(fd, view[:_CHUNK])
            view = view[written:]


def _read_exactly(fd: int, size: int) -> bytes | None:
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        count = os.readv(fd, [view[got:]])
        if count == 0:
            if got == 0:
                return None
            raise ProtocolError("frame cut short")
        got += count
    return bytes(buffer) if size else b""


def _part(value: Any) -> TextPart:
    number, text, language = value
    return TextPart(_typed(number, int), _typed(text, str), None if language is None else _typed(language, str))


def _typed(value: Any, kind: type[Any]) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ProtocolError(f"expected {kind.__name__}, got {type(value).__name__}")
    return value
