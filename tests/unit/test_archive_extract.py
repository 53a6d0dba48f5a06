"""archive/extract on documents made here, one format at a time: the text, title, date,
metadata and children each extractor must give, and the sniffing that picks it."""

from __future__ import annotations

import base64
import datetime as dt
import io
import time
import zipfile
from email.message import EmailMessage

import pytest

from censorwatch.archive.extract import ExtractionFailed, extract, sniff
from tests.unit.test_archive_extract_samples import (
    CHINESE,
    RUSSIAN,
    email_with_attachment,
    html_cp1251,
    nested_zip,
    rtf_cp1251,
    text_pdf,
    word_docx,
)

MSK = dt.timezone(dt.timedelta(hours=3))


def test_pdf_text_per_page_with_title_and_date() -> None:
    data = text_pdf(["Blocking order\nsecond line", "Page two: 12345"],
                    {"Title": "Order 27-31-2015", "Author": "Court", "CreationDate": "D:20180321145500+03'00'"})
    extracted = extract(data, "order.pdf")
    assert extracted.kind == "pdf"
    assert [part.number for part in extracted.parts] == [1, 2]
    assert extracted.parts[0].text == "Blocking order\nsecond line"
    assert extracted.parts[1].text == "Page two: 12345"
    assert extracted.title == "Order 27-31-2015"
    assert extracted.date == dt.datetime(2018, 3, 21, 14, 55, tzinfo=MSK)
    assert extracted.metadata["author"] == "Court"
    assert extracted.metadata["pages"] == "2"
    assert not extracted.needs_ocr


def test_pdf_header_after_junk_is_still_a_pdf() -> None:
    assert sniff(b"garbage before the header\n" + text_pdf(["x"]), "scan.bin") == "pdf"


def test_rtf_in_cp1251_with_unicode_escapes_title_and_date() -> None:
    paragraphs = [RUSSIAN, "Знак № и «кавычки» — тире", "Ελληνικά κείμενα"]
    extracted = extract(rtf_cp1251(paragraphs), "451555_notification_on.rtf")
    text = extracted.parts[0].text
    assert extracted.kind == "rtf"
    assert RUSSIAN in text
    assert "Знак № и «кавычки» — тире" in text
    assert "Ελληνικά" in text
    assert "Домен\texample.com" in text
    assert "ссылка" in text and "hidden.example" not in text  # field result, not its instruction
    assert "Times New Roman" not in text and "Normal" not in text and "Word 15" not in text
    assert "\\" not in text and "{" not in text
    assert extracted.title == "Уведомление"
    # A template's time, not the day the notice was written: metadata, not the date.
    assert extracted.date is None and extracted.metadata["created"] == "2019-07-08 12:30:00"
    assert extracted.metadata["author"] == "Roskomnadzor"
    assert extracted.metadata["encoding"] == "cp1251"


def test_rtf_code_page_comes_from_the_header() -> None:
    koi = r"{\rtf1\ansi\ansicpg20866 " + "".join(f"\\'{b:02x}" for b in "Привет".encode("koi8-r")) + "}"
    assert extract(koi.encode(), "x.rtf").parts[0].text == "Привет"
    default = r"{\rtf1\ansi caf\'e9}"
    assert extract(default.encode(), "x.rtf").parts[0].text == "café"


def test_rtf_surrogate_pairs_and_uc0_and_bin() -> None:
    # \u-10179\u-8704 is U+1F600 as a UTF-16 pair; the space after a control word is its end;
    # \bin3 is followed by three bytes of binary data, whatever they are.
    document = rb"{\rtf1\ansi\uc0 A\u-10179\u-8704 B\bin3 {}\ C}"
    assert extract(document, "x.rtf").parts[0].text == "A\U0001F600B C"


def test_docx_paragraphs_tables_header_and_core_properties() -> None:
    extracted = extract(word_docx(), "order.docx")
    assert extracted.kind == "docx"
    body = extracted.parts[0].text
    assert "Уведомление" in body
    assert "Номер реестровой записи 451555-РИ" in body
    assert "Домен\texample.com" in body and "IP\t192.0.2.1" in body
    assert extracted.parts[1].text == "РОСКОМНАДЗОР"
    assert extracted.title == "Предписание о блокировке"
    assert extracted.date == dt.datetime(2019, 7, 8, 12, 0, tzinfo=dt.UTC)


def test_docx_with_a_dtd_is_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>'
                         '<w:document xmlns:w="w"><w:body><w:p><w:r><w:t>&a;</w:t></w:r></w:p></w:body></w:document>')
    with pytest.raises(ExtractionFailed, match="DTD"):
        extract(out.getvalue(), "laughs.docx")


def test_html_in_windows_1251_with_meta_charset() -> None:
    extracted = extract(html_cp1251(), "page.htm")
    assert extracted.kind == "html"
    assert extracted.title == "Реестр запрещённых сайтов"
    assert extracted.parts[0].text == (
        "Единый реестр\n\nДоступ к ресурсу ограничен по решению суда.\n\nДомен\texample.com"
    )
    assert extracted.metadata["encoding"] == "cp1251"


def test_html_meta_that_lies_is_overruled_by_valid_utf8() -> None:
    page = '<html><head><meta charset="iso-8859-1"><title>Блокировка</title></head><body>Текст</body></html>'
    extracted = extract(page.encode("utf-8"), "page.html")
    assert extracted.title == "Блокировка"
    assert extracted.parts[0].text == "Текст"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1251", "koi8-r", "utf-16", "utf-16-le", "utf-16-be"])
def test_russian_text_in_each_encoding(encoding: str) -> None:
    extracted = extract(RUSSIAN.encode(encoding), "notice.txt")
    assert extracted.kind == "text"
    assert extracted.parts[0].text == RUSSIAN


@pytest.mark.parametrize("encoding", ["gb18030", "utf-16", "utf-8"])
def test_chinese_text_in_each_encoding(encoding: str) -> None:
    extracted = extract(CHINESE.encode(encoding), "law.txt")
    assert extracted.parts[0].text == CHINESE


def test_markdown_title_and_csv() -> None:
    markdown = extract(f"# 网络安全法\n\n{CHINESE}\n".encode("gb18030"), "law.md")
    assert markdown.title == "网络安全法"
    csv = extract(b"domain;date\nexample.com;2019-07-08\n", "export.csv")
    assert csv.kind == "text" and "example.com;2019-07-08" in csv.parts[0].text


def test_email_with_raw_headers_koi8_body_and_attachment() -> None:
    extracted = extract(email_with_attachment(), "readme.txt")
    assert extracted.kind == "email"
    assert extracted.title == "[eais#560867] Роскомнадзор информирует"
    assert extracted.date == dt.datetime(2018, 6, 13, 17, 43, 26, tzinfo=MSK)
    assert extracted.metadata["from"] == "Роскомнадзор <zapret-info-out@rkn.gov.ru>"
    assert extracted.metadata["to"] == "Хостинг <abuse@example.net>"
    assert extracted.parts[0].text == RUSSIAN
    [attachment] = extracted.children
    assert attachment.name == "уведомление.pdf"
    assert extract(attachment.data, attachment.name).parts[0].text == "Attachment page"


def test_email_rfc2047_headers_and_html_only_body() -> None:
    name = base64.b64encode("Роскомнадзор".encode("koi8-r")).decode()
    message = (
        f"From: =?koi8-r?B?{name}"
        "?= <a@b.ru>\r\nSubject: =?utf-8?B?0JHQu9C+0Lo=?= =?utf-8?B?0LjRgNC+0LLQutCw?=\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        "<p>Сайт <b>заблокирован</b></p>"
    )
    extracted = extract(message.encode(), "x.eml")
    assert extracted.title == "Блокировка"  # two encoded words, one UTF-8 character split between them
    assert extracted.metadata["from"] == "Роскомнадзор <a@b.ru>"
    assert extracted.parts[0].text == "Сайт заблокирован"


def test_forwarded_message_is_a_child_with_its_own_subject() -> None:
    inner = EmailMessage()
    inner["Subject"] = "Требование об удалении"
    inner.set_content("Внутреннее письмо")
    outer = EmailMessage()
    outer["Subject"] = "Fwd"
    outer.set_content("see attached")
    outer.add_attachment(inner)
    extracted = extract(outer.as_bytes(), "fwd.eml")
    assert [part.text for part in extracted.parts] == ["see attached"]
    [child] = extracted.children
    assert child.name == "Требование об удалении.eml"
    assert extract(child.data, child.name).parts[0].text == "Внутреннее письмо"


def test_mbox_messages_become_children() -> None:
    mbox = (
        b"From MAILER-DAEMON Wed Jun 13 17:43:26 2018\nFrom: a@rkn.gov.ru\nSubject: first\n\nbody one\n"
        b">From the start of a line\n\n"
        b"From MAILER-DAEMON Thu Jun 14 10:00:00 2018\nFrom: b@rkn.gov.ru\nSubject: second\n\nbody two\n"
    )
    extracted = extract(mbox, "inbox")
    assert extracted.kind == "mbox"
    assert [child.name for child in extracted.children] == ["0001 first.eml", "0002 second.eml"]
    assert b"\nFrom the start of a line\n" in extracted.children[0].data
    assert "1.  | a@rkn.gov.ru | first" in extracted.parts[0].text
    second = extract(extracted.children[1].data, extracted.children[1].name)
    assert second.title == "second" and second.parts[0].text == "body two"


def test_zip_members_become_children_and_names_stay_names() -> None:
    extracted = extract(nested_zip(), "leak.zip")
    assert extracted.kind == "zip"
    names = [child.name for child in extracted.children]
    assert names == ["docs/notice.txt", "../../etc/passwd", "nested.zip"]
    assert extracted.parts[0].text == "docs/notice.txt\n../../etc/passwd\nnested.zip"
    assert extract(extracted.children[0].data, names[0]).parts[0].text == RUSSIAN
    inner = extract(extracted.children[2].data, names[2])
    assert inner.kind == "zip" and [child.name for child in inner.children] == ["level2.txt", "nested2.zip"]


def test_zip_encrypted_member_is_skipped_and_listed() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("open.txt", b"readable")
        archive.writestr("secret.txt", b"ciphertext")
    data = bytearray(out.getvalue())
    # Set the "encrypted" flag of the second member in its local and central headers.
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.rfind(signature)
        data[at + flag_offset] |= 1
    extracted = extract(bytes(data), "x.zip")
    assert [child.name for child in extracted.children] == ["open.txt"]
    assert extracted.metadata["skipped"] == "secret.txt: encrypted"


def test_zip_names_in_cp866_without_the_utf8_flag() -> None:
    class Cp866Name(zipfile.ZipInfo):
        """Names written as Russian Windows archivers write them: cp866 bytes, no UTF-8 flag."""

        def _encodeFilenameFlags(self) -> tuple[bytes, int]:
            return self.filename.encode("cp437"), self.flag_bits

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(Cp866Name("Решение суда.txt".encode("cp866").decode("cp437")), b"text")
    data = out.getvalue()
    assert [child.name for child in extract(data, "x.zip").children] == ["Решение суда.txt"]


@pytest.mark.parametrize(
    ("data", "name", "kind"),
    [
        (b"Received: from mx\nFrom: a@b\nSubject: x\n\nbody", "readme.txt", "email"),
        (b"Subject: only one header\n\nbody", "note.eml", "email"),
        (b"Subject: only one header\n\nbody", "note.txt", "text"),
        (b"Note: this is prose\nSee: also this\n\nbody", "note.txt", "text"),
        (b"From a@b Wed Jun 13 17:43:26 2018\nSubject: x\n\nbody\n", "box", "mbox"),
        (b"<!-- comment -->\n<!DOCTYPE html><p>x", "page", "html"),
        (b"<div>fragment</div>", "fragment.html", "html"),
        (b"<div>fragment</div>", "fragment.txt", "text"),
        (b"# Title\n<!-- INFO END -->\ntext", "law.md", "text"),
        (b"  {\\rtf1 text}", "x.doc", "rtf"),
    ],
)
def test_sniff_reads_the_bytes_and_uses_the_name_only_as_a_hint(data: bytes, name: str, kind: str) -> None:
    assert sniff(data, name) == kind


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "OLE2"),
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "PNG image"),
        (bytes(range(256)) * 4, "binary data"),
    ],
)
def test_unsupported_formats_say_what_they_are(data: bytes, reason: str) -> None:
    with pytest.raises(ExtractionFailed, match=f"unsupported format: .*{reason}"):
        extract(data, "file")


def test_typical_sizes_take_milliseconds() -> None:
    rtf = rtf_cp1251([RUSSIAN] * 400)  # ~100 KB, as Roskomnadzor's notifications
    pdf = text_pdf([f"Page {number}\n" + "Blocking order text line " * 4 for number in range(10)])
    for data, name in ((rtf, "n.rtf"), (pdf, "p.pdf")):
        extract(data, name)
        started = time.perf_counter()
        extract(data, name)
        # Generous for a loaded CI machine; measured 10-20 ms for the RTF, 1-2 ms for the PDF.
        assert time.perf_counter() - started < 0.5
