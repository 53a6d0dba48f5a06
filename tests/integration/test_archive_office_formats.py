"""Word 97-2003 (.doc), Excel (.xlsx, .xls) and Outlook (.msg) files in the archive, all made
here: .xlsx by openpyxl, .xls by xlwt, and .doc and .msg by a small OLE2 writer below (no
Python library writes either), each filled as Word and Outlook fill them ([MS-DOC] file
information block, piece table and style sheet; [MS-OXMSG] property streams). The .doc files
are read by Debian's antiword, which these tests skip without. Hostile files (a truncated
OLE2 file, a shared-strings bomb, a .doc antiword cannot read) fail with reasons while the
rest of their batch is stored, through the real `censorwatch archive add`."""

from __future__ import annotations

import io
import json
import shutil
import struct
import time
import uuid
import zipfile
from datetime import UTC, date, datetime
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlwt
from typer.testing import CliRunner

from censorwatch.archive.extract import ExtractionFailed, extract, sniff
from censorwatch.archive.extract import xlsx as xlsx_module
from censorwatch.cli.main import app
from tests.integration.archive_cli import rows

pytestmark = pytest.mark.integration

needs_antiword = pytest.mark.skipif(shutil.which("antiword") is None,
                                    reason="Debian's antiword is not installed (make install-ocr installs it)")

# -- a compound file writer: 512-byte sectors, streams under 4096 bytes in the mini stream -----

_SECTOR, _MINI, _CUTOFF = 512, 64, 4096
_FREE, _END, _FAT_SECTOR, _NONE = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


def compound_file(streams: dict[str, bytes]) -> bytes:
    """An OLE2 file holding `streams`, named by paths ("storage/stream"); storages are implied."""
    entries: list[dict[str, Any]] = [{"name": "Root Entry", "type": 5, "kids": [], "data": b""}]
    index = {"": 0}
    for path, data in streams.items():
        parts = path.split("/")
        for depth in range(1, len(parts) + 1):
            key = "/".join(parts[:depth])
            if key not in index:
                leaf = depth == len(parts)
                index[key] = len(entries)
                entries.append({"name": parts[depth - 1], "type": 2 if leaf else 1, "kids": [],
                                "data": data if leaf else b""})
                entries[index["/".join(parts[: depth - 1])]]["kids"].append(index[key])
    sectors: list[bytes] = []
    fat: list[int] = []

    def chain(data: bytes) -> int:
        start, count = len(sectors), -(-len(data) // _SECTOR)
        for n in range(count):
            sectors.append(data[n * _SECTOR : (n + 1) * _SECTOR].ljust(_SECTOR, b"\0"))
            fat.append(start + n + 1 if n + 1 < count else _END)
        return start if count else _END

    mini = bytearray()
    mini_fat: list[int] = []
    for entry in entries[1:]:
        data = entry["data"]
        if entry["type"] != 2 or not data:
            entry["start"] = _END if entry["type"] == 2 else 0
        elif len(data) >= _CUTOFF:
            entry["start"] = chain(data)
        else:
            first, count = len(mini) // _MINI, -(-len(data) // _MINI)
            mini_fat.extend(first + n + 1 if n + 1 < count else _END for n in range(count))
            mini += data.ljust(count * _MINI, b"\0")
            entry["start"] = first
    entries[0]["start"], entries[0]["size"] = chain(bytes(mini)), len(mini)
    mini_fat_start = chain(b"".join(struct.pack("<I", n) for n in mini_fat))

    def tree(kids: list[int]) -> int:
        """A balanced binary tree of siblings, in the order of the format (length, then name)."""
        if not kids:
            return _NONE
        kids = sorted(kids, key=lambda k: (len(entries[k]["name"]), entries[k]["name"].upper()))
        middle = len(kids) // 2
        entries[kids[middle]]["left"] = tree(kids[:middle])
        entries[kids[middle]]["right"] = tree(kids[middle + 1 :])
        return kids[middle]

    directory = b""
    for entry in entries:
        entry["child"] = tree(entry["kids"]) if entry["type"] != 2 else _NONE
    for entry in entries:
        name = entry["name"].encode("utf-16-le") + b"\0\0"
        directory += struct.pack("<64sHBBIII16sIQQIQ", name, len(name), entry["type"], 1, entry.get("left", _NONE),
                                 entry.get("right", _NONE), entry["child"], bytes(16), 0, 0, 0, entry["start"],
                                 entry.get("size", len(entry["data"])))
    directory_start = chain(directory)
    count = 1
    while len(sectors) + count > count * (_SECTOR // 4):
        count += 1
    fat_start = len(sectors)
    fat += [_FAT_SECTOR] * count
    fat += [_FREE] * (count * (_SECTOR // 4) - len(fat))
    table = b"".join(struct.pack("<I", n) for n in fat)
    sectors += [table[n * _SECTOR : (n + 1) * _SECTOR] for n in range(count)]
    header = struct.pack("<8s16sHHHHH6sIIIIIIIII", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", bytes(16), 0x3E, 3, 0xFFFE,
                         9, 6, bytes(6), 0, count, directory_start, 0, _CUTOFF, mini_fat_start,
                         -(-len(mini_fat) * 4 // _SECTOR), _END, 0)
    header += b"".join(struct.pack("<I", n) for n in [fat_start + n for n in range(count)] + [_FREE] * (109 - count))
    return header + b"".join(sectors)


def summary_information(code_page: int, title: str, author: str, created: datetime) -> bytes:
    """A \\x05SummaryInformation property set ([MS-OLEPS]): 8-bit strings in `code_page`."""
    codec = f"cp{code_page}"
    values = [(1, struct.pack("<HxxH2x", 2, code_page))]  # VT_I2
    for number, text in ((2, title), (4, author)):
        raw = text.encode(codec) + b"\0"
        values.append((number, struct.pack("<HxxI", 30, len(raw)) + raw.ljust(-(-len(raw) // 4) * 4, b"\0")))
    ticks = int((created - datetime(1601, 1, 1, tzinfo=UTC)).total_seconds() * 10_000_000)
    values.append((12, struct.pack("<HxxQ", 64, ticks)))  # VT_FILETIME
    offset = 8 + 8 * len(values)
    table, body = b"", b""
    for number, value in values:
        table += struct.pack("<II", number, offset + len(body))
        body += value
    section = struct.pack("<II", 8 + len(table) + len(body), len(values)) + table + body
    fmtid = uuid.UUID("F29F85E0-4FF9-1068-AB91-08002B27B3D9").bytes_le
    return struct.pack("<HHI16sI", 0xFFFE, 0, 0x00020006, bytes(16), 1) + fmtid + struct.pack("<I", 48) + section


def word97(paragraphs: list[str], *, summary: bytes | None = None, piece_table_kind: int = 2) -> bytes:
    """A Word 97 document: its text as UTF-16 in WordDocument after the file information block,
    one piece in the piece table and an empty style sheet in 1Table (without one antiword
    crashes now and then)."""
    text = "\r".join(paragraphs) + "\r"
    body = text.encode("utf-16-le")
    start = 0x800
    fib = bytearray(0x9A + 93 * 8)
    struct.pack_into("<HHHHHH", fib, 0, 0xA5EC, 0xC1, 0x6027, 0x0419, 0, 0x0200)  # 0x0200: the table is 1Table
    struct.pack_into("<HII", fib, 0x0C, 0xBF, 0, 0)
    struct.pack_into("<II", fib, 0x18, start, start + len(body))
    struct.pack_into("<H", fib, 0x20, 14)
    struct.pack_into("<H", fib, 0x3E, 22)
    struct.pack_into("<I", fib, 0x40, start + len(body))
    struct.pack_into("<I", fib, 0x4C, len(text))  # characters of the main text
    struct.pack_into("<H", fib, 0x98, 93)
    style_sheet_header = struct.pack("<9H", 0, 10, 1, 0x5B, 0x0F, 0, 0, 0, 0)
    style_sheet = struct.pack("<H", len(style_sheet_header)) + style_sheet_header
    pieces = struct.pack("<II", 0, len(text)) + struct.pack("<HIH", 0, start, 0)  # bit 30 clear: UTF-16
    clx = bytes([piece_table_kind]) + struct.pack("<I", len(pieces)) + pieces
    struct.pack_into("<II", fib, 0x9A + 8 * 1, 0, len(style_sheet))  # fcStshf, lcbStshf
    struct.pack_into("<II", fib, 0x9A + 8 * 33, len(style_sheet), len(clx))  # fcClx, lcbClx
    word = (bytes(fib).ljust(start, b"\0") + body).ljust(4096, b"\0")
    streams = {"WordDocument": word, "1Table": style_sheet + clx}
    if summary is not None:
        streams["\x05SummaryInformation"] = summary
    return compound_file(streams)


def _filetime(moment: datetime) -> bytes:
    return struct.pack("<Q", int((moment - datetime(1601, 1, 1, tzinfo=UTC)).total_seconds() * 10_000_000))


def _properties(header: int, fixed: dict[int, bytes]) -> bytes:
    """A __properties_version1.0 stream: `header` bytes, then (tag, flags, 8-byte value) entries."""
    return bytes(header) + b"".join(struct.pack("<II", tag, 6) + value.ljust(8, b"\0") for tag, value in fixed.items())


def _strings(prefix: str, strings: dict[int, str], code_page: int | None) -> dict[str, bytes]:
    if code_page is None:
        return {f"{prefix}__substg1.0_{number:04X}001F": text.encode("utf-16-le") for number, text in strings.items()}
    return {f"{prefix}__substg1.0_{number:04X}001E": text.encode(f"cp{code_page}") + b"\0"
            for number, text in strings.items()}


def message_streams(message: dict[str, Any], prefix: str = "", header: int = 32) -> dict[str, bytes]:
    """The streams of one message ([MS-OXMSG]): Unicode strings, or 8-bit strings in the code
    page it names; recipients, attachments and attached messages in their storages."""
    code_page = message.get("code_page")
    fixed = {0x00390040: _filetime(message["date"])}  # PR_CLIENT_SUBMIT_TIME
    if code_page is not None:
        fixed[0x3FFD0003] = struct.pack("<I", code_page)  # PR_MESSAGE_CODEPAGE
    streams = {f"{prefix}__properties_version1.0": _properties(header, fixed)}
    streams |= _strings(prefix, {0x0037: message["subject"], 0x0C1A: message["sender"][0],
                                 0x5D01: message["sender"][1], 0x1000: message["body"],
                                 0x1035: message.get("message_id", "<x@example.org>")}, code_page)
    for number, (kind, name, address) in enumerate(message.get("recipients", [])):
        storage = f"{prefix}__recip_version1.0_#{number:08X}/"
        streams[f"{storage}__properties_version1.0"] = _properties(8, {0x0C150003: struct.pack("<I", kind)})
        streams |= _strings(storage, {0x3001: name, 0x39FE: address}, code_page)
    for number, attachment in enumerate(message.get("attachments", [])):
        storage = f"{prefix}__attach_version1.0_#{number:08X}/"
        if "message" in attachment:
            streams[f"{storage}__properties_version1.0"] = _properties(8, {0x37050003: struct.pack("<I", 5)})
            streams |= _strings(storage, {0x3001: attachment["message"]["subject"]}, code_page)
            streams |= message_streams(attachment["message"], f"{storage}__substg1.0_3701000D/", 24)
        else:
            streams[f"{storage}__properties_version1.0"] = _properties(8, {0x37050003: struct.pack("<I", 1)})
            streams |= _strings(storage, {0x3707: attachment["name"]}, code_page)
            streams[f"{storage}__substg1.0_37010102"] = attachment["data"]
    return streams


def outlook_message(message: dict[str, Any]) -> bytes:
    return compound_file({**message_streams(message), "__nameid_version1.0/__substg1.0_00020102": b""})


RUSSIAN_MESSAGE: dict[str, Any] = {
    "subject": "[eais#560867] Роскомнадзор информирует: 网络安全法",
    "sender": ("Роскомнадзор", "zapret-info@rkn.gov.ru"),
    "recipients": [(1, "Иван Петров", "ivan.petrov@mail.ru"), (1, "王伟", "wang.wei@example.cn"),
                   (2, "Анна", "anna@example-blog.ru")],
    "date": datetime(2018, 6, 13, 17, 43, 26, tzinfo=UTC),
    "body": "Направляется уведомление о внесении в единый реестр.\r\nЗапись 451555-РИ.",
    "message_id": "<560867@eais.rkn.gov.ru>",
    "attachments": [
        {"name": "Уведомление.txt", "data": "Требование о блокировке ресурса pontorez.com".encode("cp1251")},
        {"message": {"subject": "Пересланное письмо", "sender": ("Оператор", "noc@provider.ru"),
                     "recipients": [(1, "Роскомнадзор", "zapret-info@rkn.gov.ru")],
                     "date": datetime(2018, 6, 14, 9, 0, tzinfo=UTC), "body": "Ресурс заблокирован 14 июня.",
                     "attachments": [{"name": "акт.txt", "data": "Акт о блокировке".encode()}]}},
    ],
}


def workbook() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Реестр"
    sheet.append(["Доменное имя", "Дата внесения", "Запись", "Основание"])
    sheet.append(["pontorez.com", date(2016, 3, 25), "451555-РИ", "Требование о блокировке ресурса"])
    sheet.append(["example-blog.ru", datetime(2018, 6, 13, 17, 43), 451556.0, None])
    chinese = book.create_sheet("网络")
    chinese["A1"] = "中华人民共和国网络安全法"
    chinese["B3"] = 0.25
    chinese["C3"] = "=B3*4"  # a formula openpyxl never calculated: no cached value, no text
    book.create_sheet("Пустой")
    book.properties.title = "Выгрузка реестра"
    book.properties.creator = "Иванов И. И."
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def old_workbook() -> bytes:
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("Реестр")
    sheet.write(0, 0, "Решение суда о блокировке")
    sheet.write(1, 0, "pontorez.com")
    sheet.write(1, 1, date(2016, 3, 25), xlwt.easyxf(num_format_str="YYYY-MM-DD"))
    sheet.write(1, 2, 451555)
    sheet.write(2, 3, True)
    book.add_sheet("网络").write(0, 0, "国家互联网信息办公室")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def shared_strings_bomb() -> bytes:
    """A workbook whose shared strings part is 64 MiB of strings, a few hundred KiB compressed."""
    base = zipfile.ZipFile(io.BytesIO(workbook()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        for info in base.infolist():
            data = base.read(info)
            if info.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                                    b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
            bomb.writestr(info, data)
        with bomb.open("xl/sharedStrings.xml", "w") as member:
            member.write(b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')
            block = b"<si><t>A</t></si>" * 65536
            for _ in range(64 * 1024 * 1024 // len(block)):
                member.write(block)
            member.write(b"</sst>")
    return out.getvalue()


# -- the formats, read in process -------------------------------------------------------------


def test_xlsx_has_a_page_per_sheet_with_its_name_and_values() -> None:
    extracted = extract(workbook(), "выгрузка.xlsx")
    assert extracted.kind == "xlsx" and extracted.title == "Выгрузка реестра"
    assert [part.text.split("\n")[0] for part in extracted.parts] == ["Реестр", "网络", "Пустой"]
    assert extracted.parts[0].text.split("\n")[1:] == [
        "Доменное имя\tДата внесения\tЗапись\tОснование",
        "pontorez.com\t2016-03-25\t451555-РИ\tТребование о блокировке ресурса",
        "example-blog.ru\t2018-06-13 17:43:00\t451556",
    ]
    assert extracted.parts[1].text == "网络\n中华人民共和国网络安全法\n\t0.25"
    assert extracted.metadata["author"] == "Иванов И. И."
    assert extracted.metadata["sheets"] == "Реестр\n网络\nПустой"


def test_xlsx_rows_are_read_as_stored_not_as_the_sheet_claims() -> None:
    """One cell in A1 and one in XFD1048576: the sheet claims 17 billion cells; two are read."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet["A1"] = "начало"
    sheet["XFD1048576"] = "конец"
    buffer = io.BytesIO()
    book.save(buffer)
    started = time.monotonic()
    extracted = extract(buffer.getvalue(), "wide.xlsx")
    assert time.monotonic() - started < 20
    assert extracted.parts[0].text.startswith("Sheet\nначало\n") and extracted.parts[0].text.endswith("конец")
    assert "skipped" not in extracted.metadata


def test_xlsx_cells_past_the_budget_are_recorded_as_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xlsx_module, "MAX_SHEET_CELLS", 1_000)
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for number in range(600):
        sheet.append([f"строка {number}", number])
    buffer = io.BytesIO()
    book.save(buffer)
    extracted = extract(buffer.getvalue(), "long.xlsx")
    assert "строка 499" in extracted.parts[0].text and "строка 500" not in extracted.parts[0].text
    assert "rows from 501 on" in extracted.metadata["skipped"]


def test_xls_cells_in_russian_and_chinese() -> None:
    extracted = extract(old_workbook(), "реестр.xls")
    assert extracted.kind == "xls"
    assert [part.text for part in extracted.parts] == [
        "Реестр\nРешение суда о блокировке\npontorez.com\t2016-03-25\t451555\n\t\t\tTRUE",
        "网络\n国家互联网信息办公室",
    ]


@needs_antiword
def test_doc_in_russian_and_chinese_with_its_summary_in_cp1251(monkeypatch: pytest.MonkeyPatch) -> None:
    # Under a C locale antiword would write "?" for every letter outside Latin-1 unless told the mapping.
    monkeypatch.setenv("LC_ALL", "C")
    summary = summary_information(1251, "Решение о блокировке", "Петров", datetime(2016, 3, 25, 10, 0, tzinfo=UTC))
    paragraphs = ["Решение Заволжского районного суда г. Твери", "网络安全法 第一条", "Record 451555"]
    data = word97(paragraphs, summary=summary)
    assert sniff(data, "") == "doc"
    extracted = extract(data, "решение.doc")
    assert extracted.parts[0].text == "Решение Заволжского районного суда г. Твери\n网络安全法 第一条\nRecord 451555"
    assert extracted.title == "Решение о блокировке" and extracted.metadata["author"] == "Петров"
    assert extracted.date == datetime(2016, 3, 25, 10, 0, tzinfo=UTC)


@needs_antiword
def test_a_password_protected_doc_says_so() -> None:
    data = bytearray(word97(["секрет"]))
    flags = data.find(struct.pack("<HH", 0xA5EC, 0xC1)) + 10
    data[flags + 1] |= 0x01  # fEncrypted
    with pytest.raises(ExtractionFailed, match=r"^encrypted: a password-protected Word document$"):
        extract(bytes(data), "secret.doc")


def test_doc_without_antiword_fails_with_that_reason(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH with no antiword on it
    with pytest.raises(ExtractionFailed, match=r"^antiword not installed"):
        extract(word97(["текст"]), "x.doc")


@needs_antiword
def test_doc_that_antiword_cannot_read_says_what_antiword_said() -> None:
    with pytest.raises(ExtractionFailed, match="antiword could not read this Word file: I can't find the text"):
        extract(word97(["текст"], piece_table_kind=7), "broken.doc")


def test_msg_headers_body_and_attachments() -> None:
    data = outlook_message(RUSSIAN_MESSAGE)
    assert sniff(data, "") == "msg"
    extracted = extract(data, "письмо.msg")
    assert extracted.kind == "msg" and extracted.title == "[eais#560867] Роскомнадзор информирует: 网络安全法"
    assert extracted.date == datetime(2018, 6, 13, 17, 43, 26, tzinfo=UTC)
    assert extracted.metadata["from"] == "Роскомнадзор <zapret-info@rkn.gov.ru>"
    assert extracted.metadata["to"] == "Иван Петров <ivan.petrov@mail.ru>, 王伟 <wang.wei@example.cn>"
    assert extracted.metadata["cc"] == "Анна <anna@example-blog.ru>"
    assert extracted.metadata["message_id"] == "<560867@eais.rkn.gov.ru>"
    assert extracted.parts[0].text == "Направляется уведомление о внесении в единый реестр.\nЗапись 451555-РИ."
    names = [child.name for child in extracted.children]
    assert names == ["Уведомление.txt", "Пересланное письмо.eml"]
    assert extracted.children[0].data == "Требование о блокировке ресурса pontorez.com".encode("cp1251")
    # The attached message is an e-mail the archive reads like any other, with its own attachment.
    forwarded = extract(extracted.children[1].data, names[1])
    assert forwarded.kind == "email" and forwarded.title == "Пересланное письмо"
    assert forwarded.metadata["from"] == "Оператор <noc@provider.ru>"
    assert forwarded.parts[0].text == "Ресурс заблокирован 14 июня."
    assert [(child.name, child.data) for child in forwarded.children] == [("акт.txt", "Акт о блокировке".encode())]
    assert message_from_bytes(extracted.children[1].data, policy=policy.default)["Date"].datetime == datetime(
        2018, 6, 14, 9, 0, tzinfo=UTC)


def test_msg_with_8bit_strings_in_its_code_page() -> None:
    """Outlook's ANSI messages keep strings in the sender's code page: cp1251 for Russian."""
    message = {**RUSSIAN_MESSAGE, "subject": "Уведомление о блокировке", "code_page": 1251, "attachments": [],
               "recipients": [(1, "Иван Петров", "ivan.petrov@mail.ru"), (2, "Анна", "anna@example-blog.ru")]}
    extracted = extract(outlook_message(message), "ansi.msg")
    assert extracted.title == "Уведомление о блокировке"
    assert extracted.metadata["from"] == "Роскомнадзор <zapret-info@rkn.gov.ru>"
    assert extracted.metadata["cc"] == "Анна <anna@example-blog.ru>"
    assert extracted.parts[0].text.startswith("Направляется уведомление")


def test_msg_stream_names_compare_without_case() -> None:
    """Names in a compound file are compared without case; not every writer spells hex as Outlook."""
    streams = {path.lower(): data for path, data in message_streams(RUSSIAN_MESSAGE).items()}
    extracted = extract(compound_file(streams), "lower.msg")
    assert extracted.title == RUSSIAN_MESSAGE["subject"]
    assert [child.name for child in extracted.children] == ["Уведомление.txt", "Пересланное письмо.eml"]


@pytest.mark.parametrize(
    ("streams", "reason"),
    [
        ({"PowerPoint Document": b"x" * 100, "Current User": b"y"}, r"^unsupported format: a PowerPoint 97-2003"),
        ({"VisioDocument": b"x" * 100}, r"^unsupported format: an OLE2 compound file, neither .*VisioDocument"),
        ({"EncryptionInfo": b"x", "EncryptedPackage": b"y" * 5000}, r"^encrypted: a password-protected Office"),
    ],
)
def test_other_compound_files_say_what_they_are(streams: dict[str, bytes], reason: str) -> None:
    with pytest.raises(ExtractionFailed, match=reason):
        extract(compound_file(streams), "file.doc")


def test_a_truncated_compound_file_fails_with_a_reason() -> None:
    data = outlook_message(RUSSIAN_MESSAGE)
    with pytest.raises(ExtractionFailed, match=r"OLE2 compound file that cannot be read \(.+\)"):
        extract(data[:1000], "cut.msg")


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ("__substg1.0_1000001F", r"stream __substg1\.0_1000001F declares 67108864 bytes, more than the whole file"),
        ("Root Entry", r"the mini stream declares 67108864 bytes, more than the whole file"),
    ],
)
def test_a_stream_declaring_more_than_the_file_is_refused(entry: str, reason: str) -> None:
    data = bytearray(outlook_message(RUSSIAN_MESSAGE))
    # The entry's size declared as 64 MiB: read, its sector chain would loop over the same sectors.
    at = data.find(entry.encode("utf-16-le"))
    struct.pack_into("<Q", data, at + 120, 64 << 20)
    with pytest.raises(ExtractionFailed, match=reason):
        extract(bytes(data), "x.msg")


def test_a_shared_strings_bomb_is_refused_before_parsing() -> None:
    data = shared_strings_bomb()
    assert len(data) < 1 << 20
    started = time.monotonic()
    with pytest.raises(ExtractionFailed, match=r"xl/sharedStrings.xml: (expands more than 250 times|64 MiB to parse)"):
        extract(data, "bomb.xlsx")
    assert time.monotonic() - started < 2


# -- the real command: good files stored and searchable, hostile ones failed beside them -------


def _add(db: Path, directory: Path) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["archive", "add", str(directory), "--db", str(db), "--workers", "2",
                                      "--format", "json"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def _search(db: Path, query: str) -> list[str]:
    result = CliRunner().invoke(app, ["archive", "search", query, "--db", str(db), "--format", "json",
                                      "--limit", "50"])
    assert result.exit_code == 0, result.stderr
    return [hit["name"] for hit in json.loads(result.stdout)["hits"]]



def test_archive_add_stores_office_files_and_fails_hostile_ones(tmp_path: Path) -> None:
    good, bad = tmp_path / "in" / "good", tmp_path / "in" / "bad"
    good.mkdir(parents=True)
    bad.mkdir(parents=True)
    (good / "выгрузка.xlsx").write_bytes(workbook())
    (good / "реестр.xls").write_bytes(old_workbook())
    (good / "письмо.msg").write_bytes(outlook_message(RUSSIAN_MESSAGE))
    antiword = shutil.which("antiword") is not None
    if antiword:
        (good / "решение.doc").write_bytes(word97(["Решение Заволжского районного суда о блокировке сайта"]))
        (bad / "broken.doc").write_bytes(word97(["текст"], piece_table_kind=7))
    (bad / "bomb.xlsx").write_bytes(shared_strings_bomb())
    (bad / "cut.xls").write_bytes(old_workbook()[:1200])
    (bad / "slides.ppt").write_bytes(compound_file({"PowerPoint Document": b"x" * 100}))
    db = tmp_path / "store.duckdb"
    report = _add(db, tmp_path / "in")
    assert report["files"] == (8 if antiword else 6) and report["skipped"] == 0
    status = {name: (kind, state, reason) for name, kind, state, reason in rows(
        db, "SELECT name, kind, status, reason FROM archive_documents WHERE depth = 0")}
    assert status["выгрузка.xlsx"] == ("xlsx", "ok", None)
    assert status["реестр.xls"] == ("xls", "ok", None)
    assert status["письмо.msg"] == ("msg", "ok", None)
    assert status["bomb.xlsx"][1] == "failed" and "xl/sharedStrings.xml" in status["bomb.xlsx"][2]
    assert status["cut.xls"][1] == "failed" and "OLE2" in status["cut.xls"][2]
    assert status["slides.ppt"][1:] == ("failed", "unsupported format: a PowerPoint 97-2003 presentation (.ppt)")
    # A Russian word form that none of the cells has: the stemmer finds «блокировке» in the .xlsx and the .xls.
    found = _search(db, "блокировка")
    assert {"выгрузка.xlsx", "реестр.xls"} <= set(found)
    assert "выгрузка.xlsx" in _search(db, "451555-РИ") and "выгрузка.xlsx" in _search(db, "网络安全")
    assert "реестр.xls" in _search(db, "国家互联网信息办公室")
    # The message's attachments are its children, searchable; the attached message's too.
    children = dict(rows(db, "SELECT d.name, p.name FROM archive_documents d JOIN archive_documents p "
                              "ON p.doc_id = d.parent_id"))
    assert children["Уведомление.txt"] == "письмо.msg" and children["Пересланное письмо.eml"] == "письмо.msg"
    assert children["акт.txt"] == "Пересланное письмо.eml"
    assert "Уведомление.txt" in _search(db, "pontorez.com")
    assert "письмо.msg" in _search(db, "уведомлением")
    if antiword:
        assert status["решение.doc"] == ("doc", "ok", None)
        assert "решение.doc" in _search(db, "заволжский")
        assert status["broken.doc"][1:] == ("failed", "antiword could not read this Word file: "
                                                      "I can't find the text of this document")
