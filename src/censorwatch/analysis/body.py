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


def body_text(body: object) -> str | None:
    """The body as text, decoding OONI's base64 form; undecodable bytes are replaced."""
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
        return raw.decode("utf-8", errors="replace")
    return None


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
