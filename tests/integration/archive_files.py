"""Documents made by the tests: good files of every format the archive reads, and hostile ones."""

from __future__ import annotations

import io
import struct
import zipfile
from email.message import EmailMessage
from pathlib import Path

import docx


def pdf(text: str) -> bytes:
    """A one-page PDF with a text layer (Helvetica, ASCII text)."""
    stream = b"BT /F1 12 Tf 72 720 Td (" + text.encode("ascii") + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def overlapping_zip_bomb() -> bytes:
    """Members whose directory entries all point at the first one's data (Fifield's
    non-recursive zip bomb, in miniature)."""
    data = bytearray(zip_of({f"{n}.txt": b"A" * 100_000 for n in range(3)}))
    entry = data.find(b"PK\x01\x02")
    first = struct.unpack_from("<I", data, entry + 42)[0]
    for _ in range(2):
        entry = data.find(b"PK\x01\x02", entry + 4)
        struct.pack_into("<I", data, entry + 42, first)
    return bytes(data)


def encrypted_zip() -> bytes:
    """One plain member and one flagged as encrypted (bit 0 of its flags, in both headers)."""
    data = bytearray(zip_of({"plain.txt": b"readable member", "secret.txt": b"x" * 1000}))
    for signature, flags_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        second = data.find(signature, data.find(signature) + 4)
        struct.pack_into("<H", data, second + flags_at, struct.unpack_from("<H", data, second + flags_at)[0] | 1)
    return bytes(data)


def ratio_zip_bomb(path: Path) -> None:
    """A member of 300 MiB of zeros, 300 KiB compressed: written in chunks, never held."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive, archive.open("zeros.txt", "w") as member:
        block = bytes(1 << 20)
        for _ in range(300):
            member.write(block)


def docx_file(paragraphs: list[str]) -> bytes:
    document = docx.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def email_with_attachment(subject: str, body: str, attachment: bytes, name: str) -> bytes:
    message = EmailMessage()
    message["From"] = "Роскомнадзор <zapret-info-out@rkn.gov.ru>"
    message["To"] = "owner@example-blog.ru"
    message["Subject"] = subject
    message["Date"] = "Wed, 13 Jun 2018 17:43:26 +0300"
    message.set_content(body)
    message.add_attachment(attachment, maintype="application", subtype="octet-stream", filename=name)
    return bytes(message)


def good_files(directory: Path) -> dict[str, str]:
    """Writes one good file per format; returns name -> a word its text holds."""
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "order.pdf": (pdf("Court order 2-1066/2016 blocking pontorez.com"), "pontorez.com"),
        "notice.txt": ("уведомление о внесении в единый реестр, запись 451555".encode("cp1251"), "реестр"),
        "page.html": ("<html><body><h1>网络安全法</h1><p>国家网信部门 依法 处置</p></body></html>".encode(),
                      "网络安全"),
        "letter.docx": (docx_file(["Требование об удалении информации", "сайт example-blog.ru"]), "удалении"),
        "bundle.zip": (zip_of({"inside.txt": b"member text about blocking-order-77"}), "inside"),
        "mail.eml": (email_with_attachment("[eais#560867] Роскомнадзор информирует", "Направляется уведомление",
                                           pdf("attached order 2-507/2018"), "order.pdf"), "уведомление"),
    }
    for name, (data, _) in files.items():
        (directory / name).write_bytes(data)
    return {name: word for name, (_, word) in files.items()}


def hostile_files(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "overlap-bomb.zip").write_bytes(overlapping_zip_bomb())
    ratio_zip_bomb(directory / "zeros-bomb.zip")
    whole = pdf("truncated document text")
    (directory / "truncated.pdf").write_bytes(whole[: len(whole) // 3])
    (directory / "junk.bin").write_bytes(bytes(range(256)) * 2000)
    nested = "From: a@example.org\nSubject: broken\nContent-Type: multipart/mixed; boundary=\"b\"\n\n"
    nested += "--b\nContent-Type: multipart/mixed; boundary=\"b\"\n\n" * 60
    (directory / "malformed.eml").write_text(nested, encoding="ascii")
    (directory / "encrypted.zip").write_bytes(encrypted_zip())
