"""Dates as documents write them (Russian, Chinese, English, ISO), found with their spans and
turned into ISO dates. Only full dates: a month and year alone, or a day without a year (an e-mail
thread's "Sep 05 02:54 pm"), place nothing on a time axis."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date

from censorwatch.archive.model import Entity

_RU_MONTHS = ("январ", "феврал", "март", "апрел", "ма", "июн", "июл", "август", "сентябр", "октябр", "ноябр", "декабр")
_EN_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")

_RU_MONTH = r"(?P<month>января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|ноября|декабря)"
_EN_MONTH = (
    r"(?P<month>January|February|March|April|May|June|July|August|September|October|November|December"
    r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.?"
)
_ZH_NUMERAL = "〇零一二三四五六七八九十"

_PATTERNS = (
    # 13.06.2018 (day first, as Russian and most of Europe write it); not a piece of 1.13.06.2018.
    re.compile(r"(?<![\d.])(?P<day>\d{1,2})\.(?P<month>\d{1,2})\.(?P<year>\d{4})(?!\d|\.\d)"),
    # 2018-06-13; not inside longer dash-joined numbers such as court identifiers.
    re.compile(r"(?<![\d-])(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})(?![\d-])"),
    # 13 июня 2018 г., «13» июня 2018 года
    re.compile(
        rf"(?<!\d)[«\"]?(?P<day>\d{{1,2}})[»\"]?\s+{_RU_MONTH}\s+(?P<year>\d{{4}})(?:\s*(?:года|г\.|г\b))?",
        re.IGNORECASE,
    ),
    # June 13, 2018 / Jun 13th 2018
    re.compile(rf"\b{_EN_MONTH}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<year>\d{{4}})(?!\d)"),
    # 13 June 2018 / Wed, 13 Jun 2018 (RFC 822 headers)
    re.compile(rf"(?<!\d)(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+{_EN_MONTH},?\s+(?P<year>\d{{4}})(?!\d)"),
    # 2016年11月7日, also in Chinese numerals: 二〇一六年十一月七日
    re.compile(
        rf"(?P<year>\d{{4}}|[{_ZH_NUMERAL}]{{4}})\s*年\s*(?P<month>\d{{1,2}}|[{_ZH_NUMERAL}]{{1,2}})\s*月"
        rf"\s*(?P<day>\d{{1,2}}|[{_ZH_NUMERAL}]{{1,3}})\s*[日号]"
    ),
)


def _zh_number(text: str) -> int:
    """Chinese numerals: digit by digit for years (二〇一六), with 十 for tens (十一, 二十三)."""
    digits = {char: index for index, char in enumerate("〇一二三四五六七八九")} | {"零": 0}
    if "十" not in text:
        return int("".join(str(digits[char]) for char in text))
    tens, _, units = text.partition("十")
    return (digits[tens] if tens else 1) * 10 + (digits[units] if units else 0)


def _number(text: str) -> int:
    return int(text) if text.isdigit() else _zh_number(text)


def _month(text: str) -> int:
    lowered = text.lower()
    if lowered.isdigit() or lowered[0] in _ZH_NUMERAL:
        return _number(lowered)
    names = _EN_MONTHS if lowered.isascii() else _RU_MONTHS
    # Longest stem first: "мая" must not be taken for "марта" by its "ма".
    for stem in sorted(names, key=len, reverse=True):
        if lowered.startswith(stem):
            return names.index(stem) + 1
    raise ValueError(text)


_CYRILLIC = re.compile("[а-яА-Я]")
_CAPITAL = re.compile("[A-Z]")
# Per pattern, what a text must hold for it to run: a cheap test that skips most patterns.
_NEEDED: tuple[Callable[[str], bool], ...] = (
    lambda text: "." in text,
    lambda text: "-" in text,
    lambda text: _CYRILLIC.search(text) is not None,
    lambda text: _CAPITAL.search(text) is not None,
    lambda text: _CAPITAL.search(text) is not None,
    lambda text: "年" in text,
)


def find_dates(text: str) -> Iterator[Entity]:
    for pattern, needed in zip(_PATTERNS, _NEEDED, strict=True):
        if not needed(text):
            continue
        for match in pattern.finditer(text):
            try:
                value = date(_number(match["year"]), _month(match["month"]), _number(match["day"]))
            except (ValueError, KeyError):
                continue
            if 1900 <= value.year <= 2100:
                yield Entity("date", value.isoformat(), match.group(), match.start(), match.end())
