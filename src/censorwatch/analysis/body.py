"""Hostile-data helpers for HTTP bodies and headers in measurements (one place, as ooni/data's
datautils does): bodies may be str, {"format": "base64", "data": ...}, null, or garbage."""

from __future__ import annotations

import base64
import binascii
import html
import re
from collections.abc import Mapping
from typing import Any

_TITLE = re.compile(r"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)
_CHARSET = re.compile(rb"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]{1,40})", re.IGNORECASE)
CHARSET_SCAN_BYTES = 4096  # a page declares its charset in the head


def body_text(body: object) -> str | None:
    """The body as text, decoding OONI's base64 form (df-001: bodies that are not UTF-8); see
    decode_bytes for the charset."""
    if body is None:
        return None
    if isinstance(body, str):
        return body
    if isinstance(body, Mapping) and body.get("format") == "base64":
        data = body.get("data")
        if not isinstance(data, str):
            return None
        try:
            raw = base64.b64decode(data, validate=False)
        except (binascii.Error, ValueError):
            return None
        return decode_bytes(raw)
    return None


def decode_bytes(raw: bytes) -> str:
    """UTF-8 when the bytes are UTF-8, else the charset the page declares (a windows-1251
    blockpage of a Russian ISP reads as Russian, not as replacement characters), else UTF-8 with
    undecodable bytes replaced."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    declared = _CHARSET.search(raw[:CHARSET_SCAN_BYTES])
    if declared is not None:
        try:
            return raw.decode(declared.group(1).decode("ascii"), errors="replace")
        except (LookupError, ValueError):  # unknown, or not a text encoding (base64, idna ...)
            pass
    return raw.decode("utf-8", errors="replace")


def title_of(text: str | None) -> str:
    if not text:
        return ""
    match = _TITLE.search(text[:1_000_000])
    return html.unescape(match.group(1)).strip() if match else ""


def header_map(headers: object) -> dict[str, str]:
    """Headers as lower-case name -> value. OONI writes a dict, a list of [name, value] pairs
    (headers_list), or values that are themselves lists or base64 objects."""
    result: dict[str, str] = {}
    pairs: list[tuple[Any, Any]] = []
    if isinstance(headers, Mapping):
        pairs = list(headers.items())
    elif isinstance(headers, list):
        pairs = [tuple(item[:2]) for item in headers if isinstance(item, list | tuple) and len(item) >= 2]
    for name, value in pairs:
        key = body_text(name) if not isinstance(name, str) else name
        if not key:
            continue
        if isinstance(value, list):
            value = value[0] if value else ""
        text = value if isinstance(value, str) else body_text(value)
        result[key.lower()] = text or ""
    return result
