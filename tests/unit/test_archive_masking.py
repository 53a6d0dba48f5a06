"""Masking of private contacts in public views (archive/masking.py): who is official, what a
phone number is, and that masking keeps every offset."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from censorwatch.archive.masking import (
    MASK,
    OFFICIAL,
    OFFICIAL_DOMAINS,
    ROLE_MAILBOXES,
    is_private_contact,
    mask_text,
    mask_value,
)


@pytest.mark.parametrize(("text", "masked"), [
    # Roskomnadzor's sending address, a hosting company's abuse desk: kept; the site owner's: masked
    ("From: <zapret-info-out@rkn.gov.ru> To: <pontorez@pontorez.com>, <abuse@ovh.ca>",
     "From: <zapret-info-out@rkn.gov.ru> To: <████████@████████████>, <abuse@ovh.ca>"),
    ("ivan.petrov@mail.ru пишет", "███████████@███████ пишет"),
    ("канцелярия: zavolzhsky.twr@sudrf.ru", "канцелярия: zavolzhsky.twr@sudrf.ru"),
    ("jubao@cac.gov.cn 举报", "jubao@cac.gov.cn 举报"),
    ("почта@пример.рф", "█████@█████████"),
    ("тел. +7 (495) 983-33-93", "тел. +█ (███) ███-██-██"),
    ("8 916 123-45-67", "█ ███ ███-██-██"),
    ("+79161234567.", "+███████████."),
    ("(4822) 32-12-34", "(████) ██-██-██"),
    ("电话 010-12345678", "电话 ███-████████"),
    ("tel:+74951234567", "tel:+███████████"),
])
def test_private_contacts_are_masked(text: str, masked: str) -> None:
    assert mask_text(text) == masked


@pytest.mark.parametrize("text", [
    "№ 2-1066/2016 от 12.05.2016",  # a court case and a date
    "2а-507/2018, 27-31-2015/Ид1093-15, 451555-РИ",  # a case, a decision, a register record
    "ИНН 7707083893, ОГРН 1027700132195",  # identifiers written as one run of digits
    "2018-06-13 17:43:26 +0300",
    "IP 87.226.213.147 and 2001:db8::1",
    "http://pontorez.com/node/768",
    "ч. 7 ст. 15.1 Федерального закона от 27.07.2006 № 149-ФЗ",
])
def test_identifiers_dates_and_addresses_are_not_phones(text: str) -> None:
    assert mask_text(text) == text


def test_listed_contacts_stay_readable() -> None:
    official = OFFICIAL.with_listed(addresses=["press@example.org"], phones=["+7 (495) 983-33-93"],
                                    domains=["Example.NET."])
    text = "press@example.org, ceo@example.org, someone@mail.example.net, 8 (495) 983-33-93"
    expected = "press@example.org, ███@███████████, someone@mail.example.net, 8 (495) 983-33-93"
    assert mask_text(text, official) == expected


def test_spans_found_by_the_entity_finder_are_masked_too() -> None:
    text = "звонить: 9161234567 (моб.)"  # one run of digits: no pattern of masking's own matches it
    assert mask_text(text) == text
    assert mask_text(text, spans=[(9, 19, "phone")]) == "звонить: ██████████ (моб.)"
    assert mask_text("a@rkn.gov.ru", spans=[(0, 12, "email")]) == "a@rkn.gov.ru"


def test_entity_values() -> None:
    assert is_private_contact("email", "pontorez@pontorez.com")
    assert not is_private_contact("email", "zapret-info-out@rkn.gov.ru")
    assert not is_private_contact("domain", "pontorez.com")
    assert mask_value("email", "a.b@c.ru") == "███@████"
    assert mask_value("phone", "+74959833393") == "+███████████"
    assert mask_value("url", "http://pontorez.com/node/768") == "http://pontorez.com/node/768"


@given(st.text())
def test_masking_keeps_the_length_and_is_idempotent(text: str) -> None:
    masked = mask_text(text)
    assert len(masked) == len(text)
    assert mask_text(masked) == masked
    assert all(a == b or b == MASK for a, b in zip(text, masked, strict=True))


def test_the_documented_rule_lists_every_official_domain_and_role() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "archive-store.md").read_text(encoding="utf-8")
    assert all(f"`{name}`" in text for name in OFFICIAL_DOMAINS | ROLE_MAILBOXES)
