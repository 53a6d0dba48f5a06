"""Documents made by the tests, in every format the archive extracts, for the archive/extract
tests (unit and integration). PDFs are written by hand (objects, xref, RC4 encryption: a few
lines each, and any defect can be put in on purpose) or with pypdfium2 when a real font is
needed; no imaging library is needed for the OCR sample."""

from __future__ import annotations

import ctypes
import datetime as dt
import hashlib
import io
import struct
import zipfile
import zlib
from email.message import EmailMessage
from pathlib import Path

import docx
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

RUSSIAN = (
    "Роскомнадзор уведомляет о внесении в единый реестр запрещённой информации указателя страницы сайта, "
    "номер реестровой записи 451555-РИ, на основании решения суда."
)
CHINESE = (
    "国家网信部门和有关部门依法履行网络信息安全监督管理职责，"
    "发现法律、行政法规禁止发布或者传输的信息的，应当要求网络运营者停止传输。"
)


def hand_pdf(objects: list[bytes], trailer_extra: bytes = b"") -> bytes:
    """A PDF of the given objects (object 1 the catalog), with a correct xref table."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, trailer_extra, xref)
    return bytes(out)


def _literal(text: str) -> bytes:
    return b"(" + text.encode("latin-1").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def text_pdf(pages: list[str], info: dict[str, str] | None = None) -> bytes:
    """Pages of Latin text in Helvetica (a text layer), with an optional document information."""
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>", b"",
                            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    kids = []
    for text in pages:
        page_number = len(objects) + 1
        kids.append(b"%d 0 R" % page_number)
        lines = b" ".join(_literal(line) + b" Tj T*" for line in text.split("\n"))
        operators = b"BT /F1 14 Tf 72 740 Td 18 TL " + lines + b" ET"
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >>"
                       b" /Contents %d 0 R >>" % (page_number + 1))
        objects.append(b"<< /Length %d >>\nstream\n" % len(operators) + operators + b"\nendstream")
    objects[1] = b"<< /Type /Pages /Kids [" + b" ".join(kids) + b"] /Count %d >>" % len(pages)
    extra = b""
    if info:
        objects.append(b"<< " + b" ".join(b"/" + key.encode() + b" " + _literal(value) for key, value in info.items())
                       + b" >>")
        extra = b"/Info %d 0 R " % len(objects)
    return hand_pdf(objects, extra)


def cyclic_pdf() -> bytes:
    """A page tree whose Pages node is its own kid."""
    return hand_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
        b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R] /Count 1 >>",
    ])


def self_referencing_xref_pdf() -> bytes:
    """A trailer whose /Prev points back at its own xref section (an endless chain)."""
    data = text_pdf(["Looping xref"])
    return data.replace(b"trailer\n<<", b"trailer\n<< /Prev %d" % data.index(b"xref"))


_PASSWORD_PADDING = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")


def _rc4(key: bytes, data: bytes) -> bytes:
    state = list(range(256))
    j = 0
    for i in range(256):
        j = (j + state[i] + key[i % len(key)]) % 256
        state[i], state[j] = state[j], state[i]
    i = j = 0
    out = bytearray()
    for byte in data:
        i = (i + 1) % 256
        j = (j + state[i]) % 256
        state[i], state[j] = state[j], state[i]
        out.append(byte ^ state[(state[i] + state[j]) % 256])
    return bytes(out)


def encrypted_pdf(text: str, user_password: bytes = b"secret") -> bytes:
    """Standard security handler, revision 2, 40-bit RC4 (PDF 1.7, 7.6.3, algorithms 2-4)."""

    def pad(password: bytes) -> bytes:
        return (password + _PASSWORD_PADDING)[:32]

    permissions = -44
    file_id = hashlib.md5(b"censorwatch").digest()
    owner_entry = _rc4(hashlib.md5(pad(b"owner")).digest()[:5], pad(user_password))
    key = hashlib.md5(pad(user_password) + owner_entry + struct.pack("<i", permissions) + file_id).digest()[:5]
    user_entry = _rc4(key, _PASSWORD_PADDING)
    operators = b"BT /F1 14 Tf 72 720 Td " + _literal(text) + b" Tj ET"
    stream = _rc4(hashlib.md5(key + struct.pack("<I", 4)[:3] + b"\0\0").digest()[:10], operators)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >>"
        b" /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Filter /Standard /V 1 /R 2 /O <%s> /U <%s> /P %d >>"
        % (owner_entry.hex().encode(), user_entry.hex().encode(), permissions),
    ]
    identifier = file_id.hex().encode()
    return hand_pdf(objects, b"/Encrypt 6 0 R /ID [<%s><%s>] " % (identifier, identifier))


def font_pdf(lines: list[str], size: float = 28.0) -> bytes:
    """One page of text in DejaVu Sans (Cyrillic), written by PDFium."""
    document = pdfium.PdfDocument.new()
    page = document.new_page(595, 842)
    font_data = DEJAVU.read_bytes()
    font_buffer = (ctypes.c_uint8 * len(font_data)).from_buffer_copy(font_data)
    font = pdfium_c.FPDFText_LoadFont(document.raw, font_buffer, len(font_data), pdfium_c.FPDF_FONT_TRUETYPE, True)
    y = 760.0
    for line in lines:
        text_object = pdfium_c.FPDFPageObj_CreateTextObj(document.raw, font, size)
        encoded = (line + "\0").encode("utf-16-le")
        buffer = ctypes.create_string_buffer(encoded, len(encoded))
        pdfium_c.FPDFText_SetText(text_object, ctypes.cast(buffer, ctypes.POINTER(pdfium_c.FPDF_WCHAR)))
        pdfium_c.FPDFPageObj_Transform(text_object, 1, 0, 0, 1, 40, y)
        pdfium_c.FPDFPage_InsertObject(page.raw, text_object)
        y -= size * 1.6
    page.gen_content()
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def image_pdf(source: bytes, dpi: float = 200) -> bytes:
    """The first page of `source` rendered to an image, alone on a page: no text layer."""
    page = pdfium.PdfDocument(source)[0]
    width, height = page.get_size()
    bitmap = page.render(scale=dpi / 72, grayscale=True)
    document = pdfium.PdfDocument.new()
    new_page = document.new_page(width, height)
    image = pdfium.PdfImage.new(document)
    image.set_bitmap(bitmap)
    image.set_matrix(pdfium.PdfMatrix().scale(width, height))
    new_page.insert_obj(image)
    new_page.gen_content()
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _rtf_escape(text: str, codepage: str = "cp1251") -> str:
    out = []
    for char in text:
        if char in "\\{}":
            out.append("\\" + char)
        elif ord(char) < 128:
            out.append(char)
        else:
            try:
                out.append("".join(f"\\'{byte:02x}" for byte in char.encode(codepage)))
            except UnicodeEncodeError:
                out.append(f"\\u{ord(char) if ord(char) < 32768 else ord(char) - 65536}\\'3f")
    return "".join(out)


def rtf_cp1251(paragraphs: list[str], title: str = "Уведомление") -> bytes:
    """Word-style RTF: cp1251 text as \\'hh, what cp1251 lacks as \\uN with a ? fallback,
    a font table, an \\info group with title and creation time, a table and a field."""
    body = "\n".join(r"\pard\plain\f0\fs24 " + _rtf_escape(paragraph) + r"\par" for paragraph in paragraphs)
    document = (
        r"{\rtf1\ansi\ansicpg1251\uc1\deff0"
        r"{\fonttbl{\f0\froman\fcharset204 Times New Roman;}{\f1\fswiss\fcharset0 Arial;}}"
        r"{\colortbl;\red0\green0\blue0;}"
        r"{\stylesheet{\s0 Normal;}}"
        r"{\info{\title " + _rtf_escape(title) + r"}{\author Roskomnadzor}"
        r"{\creatim\yr2019\mo7\dy8\hr12\min30}}"
        "\n" + body + "\n"
        r"\trowd\cellx3000\cellx6000 \intbl " + _rtf_escape("Домен") + r"\cell example.com\cell\row"
        r"{\field{\*\fldinst HYPERLINK \"http://hidden.example\"}{\fldrslt " + _rtf_escape("ссылка") + r"}}\par"
        r"{\*\generator Microsoft Word 15;}"
        "}"
    )
    return document.encode("ascii")


def word_docx() -> bytes:
    document = docx.Document()
    document.core_properties.title = "Предписание о блокировке"
    document.core_properties.created = dt.datetime(2019, 7, 8, 12, 0, 0)
    document.add_heading("Уведомление", 0)
    document.add_paragraph("Номер реестровой записи 451555-РИ, сайт http://example.com/page.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Домен"
    table.cell(0, 1).text = "example.com"
    table.cell(1, 0).text = "IP"
    table.cell(1, 1).text = "192.0.2.1"
    document.sections[0].header.paragraphs[0].text = "РОСКОМНАДЗОР"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def html_cp1251() -> bytes:
    page = (
        '<!DOCTYPE html><html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1251">'
        "<title>Реестр запрещённых сайтов</title><style>p { color: red }</style>"
        "<script>var secret = 'не текст';</script></head>"
        "<body><h1>Единый реестр</h1><p>Доступ к ресурсу <b>ограничен</b> по решению суда.</p>"
        "<table><tr><td>Домен</td><td>example.com</td></tr></table></body></html>"
    )
    return page.encode("cp1251")


def email_with_attachment() -> bytes:
    """Raw 8-bit UTF-8 headers (as Roskomnadzor's server sends them), a KOI8-R text body, an
    RFC 2047 encoded To name, and a PDF attachment with a Cyrillic RFC 2231 file name."""
    message = EmailMessage()
    message["To"] = "Хостинг <abuse@example.net>"
    message["Date"] = "Wed, 13 Jun 2018 17:43:26 +0300"
    message.set_content(RUSSIAN, charset="koi8-r")
    message.add_attachment(text_pdf(["Attachment page"]), maintype="application", subtype="pdf",
                           filename="уведомление.pdf")
    raw = message.as_bytes()
    headers = "From: Роскомнадзор <zapret-info-out@rkn.gov.ru>\nSubject: [eais#560867] Роскомнадзор информирует\n"
    return headers.encode("utf-8") + raw


def nested_zip(depth: int = 3) -> bytes:
    """A ZIP with a text member, a member in a folder, a hostile path, and a ZIP inside."""
    inner = b"innermost text"
    for level in range(depth):
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(f"level{level}.txt", f"Уровень {level}".encode())
            archive.writestr(f"nested{level}.zip" if level else "inner.txt", inner)
        inner = out.getvalue()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("docs/notice.txt", RUSSIAN.encode("cp1251"))
        archive.writestr("../../etc/passwd", b"root:x:0:0")
        archive.writestr("nested.zip", inner)
        archive.writestr("empty-dir/", b"")
    return out.getvalue()


def test_samples_are_what_they_claim() -> None:
    assert pdfium.PdfDocument(text_pdf(["a", "b"])).__len__() == 2
    assert zipfile.ZipFile(io.BytesIO(nested_zip())).testzip() is None
    assert rtf_cp1251(["x"]).startswith(b"{\\rtf1")


def _zip_of_raw_deflate(name: bytes, stream: bytes, size: int, crc: int) -> bytes:
    """A one-member ZIP around an already deflated stream (sizes under 4 GiB: no ZIP64)."""
    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(stream), size, len(name), 0) + name
    central = struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, len(stream), size, len(name),
                          0, 0, 0, 0, 0, 0) + name
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(central), len(local) + len(stream), 0)
    return local + stream + central + end


def zip_bomb(gibibytes: float = 1.0) -> bytes:
    """One member of `gibibytes` GiB of zeros in about 1 MB, built in well under a second: one
    MiB of zeros deflated and fully flushed is a block that needs no history, so repeating it
    is a valid stream of as many MiB as it is repeated."""
    mebibytes = int(gibibytes * 1024)
    zeros = bytes(1 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    stream = block * mebibytes + b"\x03\x00"  # then an empty final block
    crc = 0
    for _ in range(mebibytes):
        crc = zlib.crc32(zeros, crc)
    return _zip_of_raw_deflate(b"zeros.bin", stream, mebibytes << 20, crc)


def overlapping_zip(copies: int = 50) -> bytes:
    """David Fifield's non-recursive bomb in miniature: many directory entries, one member's data."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("kernel.txt", b"a" * 100_000)
    data = out.getvalue()
    directory_at = data.index(b"PK\x01\x02")
    end_at = data.index(b"PK\x05\x06")
    entry = data[directory_at:end_at]
    directory = b"".join(entry.replace(b"kernel.txt", b"k%05d.txt" % number) for number in range(copies))
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, copies, copies, len(directory), directory_at, 0)
    return data[:directory_at] + directory + end


def many_members_zip(count: int) -> bytes:
    """`count` empty stored members, written directly (zipfile takes seconds for 100,000)."""
    locals_, centrals = [], []
    offset = 0
    for number in range(count):
        name = b"%07d" % number
        local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 0, 0, 0, 0, 0, 0, len(name), 0) + name
        centrals.append(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 0, 0, 0, 0, 0, 0, len(name),
                                    0, 0, 0, 0, 0, offset) + name)
        locals_.append(local)
        offset += len(local)
    directory = b"".join(centrals)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count & 0xFFFF, count & 0xFFFF, len(directory), offset, 0)
    return b"".join(locals_) + directory + end
