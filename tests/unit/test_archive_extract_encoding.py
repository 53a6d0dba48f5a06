"""Encodings of text files (archive/extract/encoding.py): Russian in each Cyrillic code page
told apart by the language, not by charset-normalizer's guess (it reads short KOI8-R as
Shift-JIS), CJK, UTF-16 without a BOM; and properties: nothing raises on arbitrary bytes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from censorwatch.archive.extract import ExtractionFailed, extract
from censorwatch.archive.extract.encoding import canonical_codec, decode_text, decode_with, guess_encoding
from censorwatch.archive.extract.rtf import extract_rtf

SENTENCES = [
    "Роскомнадзор внёс сайт в единый реестр запрещённой информации.",
    "Привет, мир! Доступ к ресурсу ограничен по решению суда.",
    "Решение суда № 2а-507/2018",
    "ФЕДЕРАЛЬНАЯ СЛУЖБА ПО НАДЗОРУ В СФЕРЕ СВЯЗИ",
    "Суд постановил: заблокировать доступ к сайту example.com немедленно.",
    "Щука",
    "Да, суд",
    "Провайдер хостинга обязан ограничить доступ к такому сайту в течение суток.",
]


def _encodable(sentence: str, codec: str) -> bool:
    try:
        sentence.encode(codec)
    except UnicodeEncodeError:
        return False  # KOI8-R has no №
    return True


@pytest.mark.parametrize(
    ("sentence", "codec"),
    [(sentence, codec) for codec in ("cp1251", "koi8_r", "cp866", "iso8859_5") for sentence in SENTENCES
     if _encodable(sentence, codec)],
)
def test_russian_sentences_in_each_cyrillic_code_page(sentence: str, codec: str) -> None:
    data = sentence.encode(codec)
    assert guess_encoding(data) == codec
    decoded = decode_text(data)
    assert decoded is not None and decoded.text == sentence


@pytest.mark.parametrize("sentence", ["Уведомление о внесении в единый реестр, запись 451555-РИ", "Запись 451555-РИ"])
def test_a_short_cp1251_notice_with_capitals_is_not_read_as_mac_cyrillic(sentence: str) -> None:
    # mac-cyrillic shares cp1251's lower-case letters and reads its capitals as quotes and dashes.
    decoded = decode_text(sentence.encode("cp1251"))
    assert decoded is not None
    assert (decoded.text, decoded.encoding) == (sentence, "cp1251")


def test_cp1251_and_koi8_r_of_a_whole_document() -> None:
    text = "\n".join(SENTENCES * 20).replace("№", "N")  # KOI8-R has no №
    for codec, name in (("cp1251", "cp1251"), ("koi8_r", "koi8-r")):
        decoded = decode_text(text.encode(codec))
        assert decoded is not None and decoded.text == text and decoded.encoding == name


@pytest.mark.parametrize(
    ("text", "codec", "expected"),
    [
        ("国家网信部门依法履行网络信息安全监督管理职责，发现法律禁止发布的信息的，应当要求网络运营者停止传输。",
         "gb18030", "gb18030"),
        ("中華民國網路安全法 第一條 為了保障網路安全，維護網路空間主權和國家安全", "big5", "cp950"),
        ("日本語のテキストです。インターネット検閲についての文書。", "shift_jis", "cp932"),
        ("Ελληνικά κείμενα για δοκιμή της κωδικοποίησης", "cp1253", "cp1253"),
    ],
)
def test_other_scripts_are_left_to_charset_normalizer(text: str, codec: str, expected: str) -> None:
    decoded = decode_text(text.encode(codec))
    assert decoded is not None and decoded.text == text and decoded.encoding == expected


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_bom(codec: str) -> None:
    for text in ("Blocking order of the court", SENTENCES[0]):
        decoded = decode_text(text.encode(codec))
        assert decoded is not None and decoded.text == text


def test_one_stray_byte_does_not_turn_utf8_into_mojibake() -> None:
    data = ("\n".join(SENTENCES) + "\n").encode("utf-8") + b"\xff broken\n" + SENTENCES[0].encode("utf-8")
    decoded = decode_text(data)
    assert decoded is not None and decoded.encoding == "utf-8" and SENTENCES[0] in decoded.text


def test_binary_is_not_text() -> None:
    assert decode_text(bytes(range(256)) * 8) is None
    assert decode_text(b"\x00\x01\x02\x03" * 100) is None


def test_declared_labels() -> None:
    assert canonical_codec("windows-1251") == "cp1251"
    assert canonical_codec("GB2312") == "gb18030"
    assert canonical_codec("us-ascii") == "cp1252"
    assert canonical_codec("x-bogus") is None
    wrong_label = decode_with(SENTENCES[0].encode("koi8-r"), "x-bogus")
    assert wrong_label is not None and wrong_label.text == SENTENCES[0]
    lying_label = decode_with(SENTENCES[0].encode("utf-8"), "iso-8859-1")
    assert lying_label is not None and lying_label.text == SENTENCES[0]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=4096))
def test_decoding_arbitrary_bytes_never_raises(data: bytes) -> None:
    decoded = decode_text(data)
    assert decoded is None or isinstance(decoded.text, str)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048), st.sampled_from(["a.pdf", "a.rtf", "a.docx", "a.zip", "a.eml", "a.html", "a.txt", ""]))
def test_extracting_arbitrary_bytes_fails_only_as_extraction_failed(data: bytes, name: str) -> None:
    try:
        extracted = extract(data, name)
    except ExtractionFailed as failed:
        assert failed.reason
    else:
        assert all(isinstance(part.text, str) for part in extracted.parts)


_RTF_TOKENS = st.sampled_from(
    ["{", "}", "\\par ", "\\'e0", "\\'", "\\u1040?", "\\u-1", "\\uc2 ", "\\uc0", "\\*", "\\fonttbl", "\\f0 ",
     "\\fcharset204 ", "\\ansicpg1251", "\\ansicpg99999", "\\bin5 ", "\\bin", "\\info", "\\title ", "\\creatim",
     "\\yr99999", "\\mo13", "text ", "Текст", "\\\\", "\\{", "\\~", "\\", "\r\n", "\\plain", "\\deff7"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_RTF_TOKENS, max_size=200))
def test_rtf_reader_survives_any_token_soup(tokens: list[str]) -> None:
    data = ("{\\rtf1" + "".join(tokens)).encode("utf-8")
    text = extract_rtf(data).parts[0].text
    assert isinstance(text, str) and "\x00" not in text
