"""The archive pages' text pieces (snippets at their highlights, pages at their entities) and the
download's file name: table-driven, pure functions."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import pytest

from censorwatch.web.archive_api import content_disposition, safe_name
from censorwatch.web.archive_text import entity_href, grouped, marked, segments


@pytest.mark.parametrize(
    ("text", "spans", "expected"),
    [
        ("abc def", [(4, 7)], [("abc ", False), ("def", True)]),
        ("abc def", [], [("abc def", False)]),
        ("", [], [("", False)]),
        ("abcdef", [(0, 2), (1, 4)], [("ab", True), ("cd", True), ("ef", False)]),  # overlap continues
        ("abc", [(2, 99), (-5, 1)], [("a", True), ("b", False), ("c", True)]),  # clipped
        ("abc", [(2, 2)], [("abc", False)]),
    ],
)
def test_marked(text: str, spans: list[tuple[int, int]], expected: list[tuple[str, bool]]) -> None:
    assert marked(text, spans) == expected
    assert "".join(piece for piece, _ in marked(text, spans)) == text


def mention(kind: str, value: str, start: int, end: int) -> dict[str, Any]:
    return {"type": kind, "value": value, "start": start, "end": end}


def test_segments_keep_the_text_and_do_not_nest_links() -> None:
    text = "see http://pontorez.com/node/768 and 451555-РИ, tel ████"
    url = mention("url", "http://pontorez.com/node/768", 4, 32)
    host = mention("domain", "pontorez.com", 11, 23)
    record = mention("record", "451555-РИ", 37, 46)
    phone = mention("phone", "████", 52, 56)
    outside = mention("domain", "x.ru", 50, 99)
    pieces = segments(text, [record, host, url, phone, outside])
    assert "".join(piece["text"] for piece in pieces) == text
    linked = [(piece["type"], piece["href"]) for piece in pieces if "type" in piece]
    assert linked == [("url", "/target?t=http%3A%2F%2Fpontorez.com%2Fnode%2F768"),
                      ("record", "/archive?entity=record%3A451555-%D0%A0%D0%98"), ("phone", None)]


@pytest.mark.parametrize(
    ("kind", "value", "href"),
    [
        ("domain", "pontorez.com", "/target?t=pontorez.com"),
        ("ip", "87.226.213.147", "/target?t=87.226.213.147"),
        ("law", "149-ФЗ", "/archive?entity=law%3A149-%D0%A4%D0%97"),
        ("email", "zapret-info@rkn.gov.ru", "/archive?entity=email%3Azapret-info%40rkn.gov.ru"),
        ("email", "████@██████", None),
        ("phone", "+74959876543", None),
    ],
)
def test_entity_href(kind: str, value: str, href: str | None) -> None:
    assert entity_href(kind, value) == href


def test_grouped_in_reading_order() -> None:
    groups = grouped([{"type": t, "value": v, "mentions": 1, "pages": [1]}
                      for t, v in (("agency", "Roskomnadzor"), ("url", "http://a.ru/"), ("odd", "x"))])
    assert [group["type"] for group in groups] == ["url", "agency", "odd"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("notice.rtf", "notice.rtf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\docs\\order.pdf", "order.pdf"),
        ('a "quoted"; name.eml', "a _quoted__ name.eml"),
        ("line\r\nbreak\x00.txt", "linebreak.txt"),
        ("...", "document-0123"),
        (None, "document-0123"),
        ("уведомление.eml", "уведомление.eml"),
        ("x" * 400, "x" * 150),
    ],
)
def test_safe_name(name: str | None, expected: str) -> None:
    assert safe_name(name, "0123") == expected


def test_content_disposition_is_ascii_with_the_exact_name_encoded() -> None:
    header = content_disposition("уведомление 1.eml")
    assert header.isascii() and header.startswith('attachment; filename="')
    assert unquote(header.split("filename*=UTF-8''", 1)[1]) == "уведомление 1.eml"
