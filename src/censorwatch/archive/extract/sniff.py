"""What a file is, from its bytes: magic numbers first, then what its text looks like. The name
only breaks ties (a text file named .eml with few headers) and words the refusal of binary
data; Roskomnadzor's e-mails are saved as "readme.txt" and are e-mails all the same.

OLE2 compound files are told apart by the streams in their directory (ole.py): WordDocument
for Word 97-2003, Workbook or Book for Excel, __substg1.0_ property streams for Outlook; ZIP
packages by their parts (word/document.xml for DOCX, xl/workbook.xml for XLSX)."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from ..model import ExtractionFailed
from .bounded_zip import open_archive
from .encoding import decode_text
from .ole import OLE_MAGIC, ole_kind

KINDS = ("pdf", "rtf", "docx", "html", "text", "email", "mbox", "zip", "doc", "xls", "xlsx", "msg")

# The PDF header may follow up to 1024 bytes of junk (PDF 1.7, annex H.3, note 13).
_PDF_WINDOW = 1024
_TEXT_HEAD = 64 * 1024
_UNSUPPORTED_MAGIC = (
    (b"\x1f\x8b", "gzip data"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\xfd7zXZ\x00", "xz data"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"AT&TFORM", "a DjVu document"),
    (b"%!PS", "PostScript"),
    (b"\x7fELF", "an executable"),
)
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_OFFICE_PARTS = (("ppt/presentation.xml", "a PowerPoint file (.pptx)"),)
_FIELD = re.compile(r"[!-9;-~]+:")
_MAIL_FIELDS = frozenset(
    (
        "from", "to", "cc", "bcc", "subject", "date", "received", "message-id", "mime-version", "return-path",
        "delivered-to", "reply-to", "sender", "content-type", "content-transfer-encoding", "in-reply-to",
        "references", "x-mailer", "user-agent", "dkim-signature", "authentication-results", "x-original-to",
        "thread-topic", "importance", "envelope-to",
    )
)
_HTML_START = ("<!doctype html", "<html", "<head", "<body", "<meta", "<title")
_HTML_TAG = re.compile(r"<(p|div|br|table|span|a|b|i|h[1-6]|font|ul|li)[\s>/]")
_LEADING_MARKUP = re.compile(r"^(\s|<!--.*?-->|<\?xml[^>]*>)*", re.DOTALL)


def sniff(data: bytes, name: str = "") -> str:
    """One of KINDS, or ExtractionFailed("unsupported format: ...")."""
    suffix = PurePosixPath(name.replace("\\", "/")).suffix.lower()
    if b"%PDF-" in data[:_PDF_WINDOW]:
        return "pdf"
    start = data[:16].lstrip(b"\xef\xbb\xbf \t\r\n")
    if start.startswith(b"{\\rtf"):
        return "rtf"
    if data.startswith(_ZIP_MAGIC):
        return _zip_kind(data)
    if data.startswith(OLE_MAGIC):
        return ole_kind(data)
    for magic, what in _UNSUPPORTED_MAGIC:
        if data.startswith(magic):
            raise ExtractionFailed(f"unsupported format: {what}")
    decoded = decode_text(data[:_TEXT_HEAD])
    if decoded is None:
        raise ExtractionFailed(_binary(suffix))
    head = decoded.text.lstrip("\ufeff \t\r\n")
    if head.startswith("From ") and (suffix == ".mbox" or _looks_like_email(head.partition("\n")[2], ".eml")):
        return "mbox"
    if _looks_like_email(head, suffix):
        return "email"
    if _looks_like_html(head, suffix):
        return "html"
    return "text"


def _zip_kind(data: bytes) -> str:
    try:
        names = set(open_archive(data).namelist())
    except ExtractionFailed:
        return "zip"  # the ZIP extractor says what is wrong with it
    if "word/document.xml" in names or ("[Content_Types].xml" in names and any(n.startswith("word/") for n in names)):
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    for part, what in _OFFICE_PARTS:
        if part in names:
            raise ExtractionFailed(f"unsupported format: {what}")
    if data[30:38] == b"mimetype":
        if b"opendocument" in data[38:120]:
            raise ExtractionFailed("unsupported format: an OpenDocument file (.odt, .ods, .odp)")
        if b"epub" in data[38:120]:
            raise ExtractionFailed("unsupported format: an EPUB book")
    return "zip"


def _looks_like_email(head: str, suffix: str) -> bool:
    """A block of header fields from the first line, with names mail uses: two of them (one for
    a file named .eml), so "Note: ..." prose is not mail."""
    known = fields = 0
    for line in head.split("\n", 500)[:500]:
        line = line.rstrip("\r")
        if not line:
            break
        if line[0] in " \t":
            if not fields:
                return False
            continue
        match = _FIELD.match(line)
        if match is None:
            break  # where the body starts without its empty line, as the parser reads it too
        fields += 1
        known += match.group()[:-1].lower() in _MAIL_FIELDS
    return known >= (1 if suffix in (".eml", ".msg", ".mht") else 2)


def _looks_like_html(head: str, suffix: str) -> bool:
    start = _LEADING_MARKUP.sub("", head[:4096], count=1).lower()
    if start.startswith(_HTML_START) or (start.startswith("<") and "<html" in start[:1024]):
        return True
    return suffix in (".html", ".htm", ".xhtml", ".shtml") and _HTML_TAG.search(start) is not None


def _binary(suffix: str) -> str:
    claims = {".pdf": "PDF header", ".rtf": "RTF header", ".docx": "ZIP header", ".zip": "ZIP header",
              ".xlsx": "ZIP header", ".doc": "OLE2 header", ".xls": "OLE2 header", ".msg": "OLE2 header"}
    if suffix in claims:
        return f"unsupported format: binary data (named {suffix}, but no {claims[suffix]})"
    return "unsupported format: binary data"
