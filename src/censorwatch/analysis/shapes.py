"""Typed views of untrusted JSON values: a measurement's field is used only if it has the shape
the analysis expects, and is otherwise an empty value of that shape (never an exception)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def mapping(value: object) -> Mapping[str, Any]:
    # The dict check first: JSON objects are dicts, and isinstance against the Mapping ABC costs
    # ten times as much; it ran some 80,000 times per 4,600 measurements in ingest profiles.
    if isinstance(value, dict):
        return value
    return value if isinstance(value, Mapping) else {}


def items(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def text(value: object) -> str | None:
    """A non-empty string, else None."""
    return value if isinstance(value, str) and value else None


def integer(value: object) -> int | None:
    """An integer (or a float holding one), not a boolean."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None
