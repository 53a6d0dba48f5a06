"""Hostile and broken files, made here: each gives ExtractionFailed with a reason, or partial
text with what was left out named in the metadata; never another exception, never unbounded
time or memory."""

from __future__ import annotations

import hashlib
import io
import time
import zipfile

import pytest

from censorwatch.archive.extract import Extracted, ExtractionFailed, extract
from tests.unit.test_archive_extract_samples import (
    cyclic_pdf,
    encrypted_pdf,
    many_members_zip,
    nested_zip,
    overlapping_zip,
    self_referencing_xref_pdf,
    text_pdf,
    zip_bomb,
)


def failure(data: bytes, name: str) -> str:
    with pytest.raises(ExtractionFailed) as caught:
        extract(data, name)
    return caught.value.reason


def test_zip_bomb_member_is_skipped_after_a_few_mebibytes() -> None:
    bomb = zip_bomb(1.0)  # 1 GiB of zeros in about 1 MB
    started = time.perf_counter()
    extracted = extract(bomb, "bomb.zip")
    assert time.perf_counter() - started < 5
    assert extracted.children == ()
    assert extracted.metadata["skipped"] == "zeros.bin: expands more than 250 times its compressed size (a zip bomb?)"


def test_overlapping_members_are_refused() -> None:
    assert failure(overlapping_zip(), "fifield.zip") == "ZIP archive with overlapping members (a zip bomb)"


def test_a_hundred_thousand_members_are_refused_before_parsing() -> None:
    reason = failure(many_members_zip(100_000), "many.zip")
    assert reason.startswith("ZIP archive with") and reason.endswith("members, more than 10000")


def test_archive_budget_stops_members_past_it() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for number in range(3):
            archive.writestr(f"big{number}.bin", bytes(100 << 20))  # stored: no ratio to trip
    extracted = extract(out.getvalue(), "big.zip")
    assert [child.name for child in extracted.children] == ["big0.bin", "big1.bin"]
    assert "big2.bin: expands beyond" in extracted.metadata["skipped"]


def test_deep_nesting_is_one_level_per_call() -> None:
    data, name, levels = nested_zip(depth=60), "deep.zip", 0
    while True:
        extracted = extract(data, name)
        nested = [child for child in extracted.children if child.name.endswith(".zip")]
        if not nested:
            break
        data, name, levels = nested[0].data, nested[0].name, levels + 1
    assert levels == 60


def test_corrupt_member_is_skipped() -> None:
    out = io.BytesIO()
    noise = b"".join(hashlib.sha256(b"%d" % index).digest() for index in range(700))
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("good.txt", b"good text " * 100)
        archive.writestr("bad.txt", noise)
    data = bytearray(out.getvalue())
    at = data.index(b"bad.txt") + len(b"bad.txt") + 1000
    data[at : at + 20] = bytes(20)  # corrupt the deflate stream in its middle
    extracted = extract(bytes(data), "x.zip")
    assert [child.name for child in extracted.children] == ["good.txt"]
    assert extracted.metadata["skipped"].startswith("bad.txt: corrupt")


def test_truncated_zip() -> None:
    data = nested_zip()
    assert failure(data[: len(data) // 2], "half.zip").startswith("corrupt ZIP archive")


def test_truncated_pdf() -> None:
    data = text_pdf(["Page one of a long order", "Page two"])
    assert failure(data[: len(data) // 2], "half.pdf").startswith("corrupt PDF")


def test_pdf_with_a_cyclic_page_tree() -> None:
    assert failure(cyclic_pdf(), "cycle.pdf") == "corrupt PDF: none of its 2 pages could be read"


def test_pdf_whose_xref_chain_loops() -> None:
    extracted = extract(self_referencing_xref_pdf(), "loop.pdf")
    assert extracted.parts[0].text == "Looping xref"


def test_encrypted_pdf_fails_unless_the_password_is_empty() -> None:
    assert failure(encrypted_pdf("Secret list", b"secret"), "secret.pdf") == "encrypted PDF: it needs a password"
    opened = extract(encrypted_pdf("Secret list", b""), "open.pdf")
    assert opened.parts[0].text == "Secret list"


def test_binary_junk_named_pdf() -> None:
    junk = bytes((index * 7919) % 251 for index in range(20_000))
    assert failure(junk, "order.pdf") == "unsupported format: binary data (named .pdf, but no PDF header)"


def test_pdf_header_with_junk_after_it() -> None:
    assert failure(b"%PDF-1.7\n" + bytes(range(256)) * 40, "junk.pdf").startswith("corrupt PDF")


def test_rtf_with_a_million_nested_groups_keeps_its_text() -> None:
    data = b"{\\rtf1 " + b"{" * 1_000_000 + b"deep text" + b"}" * 1_000_000 + b"}"
    started = time.perf_counter()
    extracted = extract(data, "deep.rtf")
    assert time.perf_counter() - started < 20
    assert extracted.parts[0].text == "deep text"
    assert "rtf_nesting" in extracted.metadata


def test_rtf_cut_short_and_unbalanced() -> None:
    assert extract(b"{\\rtf1\\ansi\\ansicpg1251 \\'cf\\'f0\\'e8", "cut.rtf").parts[0].text == "При"
    assert extract(b"{\\rtf1 a}}}}} b", "extra.rtf").parts[0].text == "a b"


def test_html_nested_far_too_deep_is_read_without_the_parser() -> None:
    data = b"<html><body>" + b"<div>" * 100_000 + b"deep &amp; text" + b"</div>" * 100_000
    started = time.perf_counter()
    extracted = extract(data, "deep.html")
    assert time.perf_counter() - started < 20  # lexbor would take ~100 s
    assert extracted.parts[0].text == "deep & text"
    assert "html_nesting" in extracted.metadata


def test_docx_bomb_part() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"<w:document xmlns:w='w'>" + b" " * (200 << 20) + b"</w:document>")
    assert failure(out.getvalue(), "bomb.docx").startswith("word/document.xml: expands")


MALFORMED_MAIL = [
    # An unterminated boundary, a bogus charset, a base64 attachment that is not base64.
    ("Subject: broken\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=zz\n\n--zz\n"
     "Content-Type: text/plain; charset=x-bogus-42\n\nТекст письма\n--zz\nContent-Type: application/pdf\n"
     "Content-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=a.pdf\n\n!!!not base64===\n"),
    # A multipart without a boundary parameter.
    "Subject: no boundary\nMIME-Version: 1.0\nContent-Type: multipart/mixed\n\nТекст письма\n",
    # A header without a value, a header line without a colon, garbage encoded words.
    "Subject: =?utf-8?B?!!!?= =?bogus?Q?=D0=A2?=\nFrom:\nnot a header\n\nТекст письма\n",
    # Quoted-printable with broken escapes and a charset that lies.
    ("Subject: qp\nMIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\nContent-Transfer-Encoding: "
     "quoted-printable\n\n=D0=A2=D0=B5=D0=BA=D1=81=D1=82 =ZZ =\n=D0=BF=D0=B8=D1=81=D1=8C=D0=BC=D0=B0\n"),
]


@pytest.mark.parametrize("message", MALFORMED_MAIL)
def test_malformed_mime_reads_what_it_can(message: str) -> None:
    extracted = extract(message.encode("koi8-r" if "bogus-42" in message else "utf-8"), "broken.eml")
    assert extracted.kind == "email"
    assert any("Текст" in part.text for part in extracted.parts), extracted


def test_mime_nested_deeper_than_the_bound() -> None:
    head = "From: a@b\nSubject: nest\nMIME-Version: 1.0\n"
    body = "".join(f'Content-Type: multipart/mixed; boundary="b{level}"\n\n--b{level}\n' for level in range(100))
    extracted = extract((head + body + "Content-Type: text/plain\n\ninner\n").encode(), "nest.eml")
    assert extracted.parts == ()
    assert extracted.metadata["skipped"] == "parts nested deeper than 32"


def test_mime_nested_past_the_parser_recursion_fails_cleanly() -> None:
    head = "From: a@b\nSubject: nest\nMIME-Version: 1.0\n"
    body = "".join(f'Content-Type: multipart/mixed; boundary="b{level}"\n\n--b{level}\n' for level in range(3000))
    result: Extracted | str
    try:
        result = extract((head + body).encode(), "nest.eml")
    except ExtractionFailed as failed:
        result = failed.reason
    assert result == "could not read the email: nested too deeply" or isinstance(result, Extracted)


@pytest.mark.parametrize(
    "data",
    [b"", b"\x00", b"%PDF-", b"{\\rtf", b"PK\x03\x04", b"PK\x05\x06" + bytes(18), b"From \n", b"<html", b"\xff\xfe"],
)
def test_tiny_and_empty_inputs(data: bytes) -> None:
    try:
        extracted = extract(data, "tiny")
    except ExtractionFailed as failed:
        assert failed.reason
    else:
        assert isinstance(extracted, Extracted)
