"""Dates as documents write them: ISO 8601 (OOXML, HTML), PDF's D:YYYYMMDDHHmmSS+HH'mm',
LibreOffice's YYYYMMDD;HHMMSSxx and RFC 2822 (e-mail). Anything else is no date."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

_PDF = re.compile(
    r"D:(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?\s*(?:(Z)|([+-])(\d{2})'?(\d{2})?'?)?"
)
_LIBREOFFICE = re.compile(r"(\d{4})(\d{2})(\d{2});(\d{2})?(\d{2})?(\d{2})?")


def parse_date(text: str | None) -> datetime | None:
    if not text:
        return None
    text = text.strip()
    for parse in (_iso, _libreoffice, _pdf, _rfc2822):
        try:
            found = parse(text)
        except (ValueError, TypeError, OverflowError, IndexError):
            continue
        if found is not None:
            return found
    return None


def _iso(text: str) -> datetime | None:
    return datetime.fromisoformat(text) if text[:4].isdigit() and "-" in text[:8] else None


def _pdf(text: str) -> datetime | None:
    match = _PDF.fullmatch(text if text.startswith("D:") else "D:" + text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(value) if value else None for value in match.groups()[:6])
    assert year is not None
    zone = None
    if match.group(7):
        zone = UTC
    elif match.group(8):
        offset = timedelta(hours=int(match.group(9)), minutes=int(match.group(10) or 0))
        zone = timezone(offset if match.group(8) == "+" else -offset)
    return datetime(year, month or 1, day or 1, hour or 0, minute or 0, second or 0, tzinfo=zone)


def _libreoffice(text: str) -> datetime | None:
    match = _LIBREOFFICE.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(value) if value else 0 for value in match.groups())
    return datetime(year, month, day, hour, minute, second)


def _rfc2822(text: str) -> datetime | None:
    return parsedate_to_datetime(text)
