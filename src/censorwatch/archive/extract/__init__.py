"""Text out of a document's bytes (issue #22): `extract(data, name)` sniffs the format from the
bytes, the name only as a hint, and hands them to one pure function per format:

    pdf         pdf.py         pypdfium2; pages without text OCR'd by tesseract (ocr.py)
    rtf         rtf.py         own reader: \\ansicpg, \\fcharset, \\'hh, \\uN, \\info
    docx        docx.py        zipfile + expat, bounded, no DTDs
    html        htmldoc.py     selectolax; charset from the page, else detected
    text        plaintext.py   any common encoding (encoding.py)
    email       mail.py        email.policy.default; attachments are children
    mbox        mbox.py        one child per message
    zip         ziparchive.py  members are children; zip bombs refused (bounded_zip.py)
    doc         doc.py         Word 97-2003, Debian's antiword as a subprocess (ole.py: OLE2)
    xls         xls.py         Excel 97-2003, xlrd; one part per sheet
    xlsx        xlsx.py        openpyxl, read-only, bounded; one part per sheet
    msg         msg.py         Outlook, olefile; attachments are children

Every extractor is bounded in memory and work (limits.py), and a file it cannot read raises
ExtractionFailed with a reason: never another exception. C libraries cannot be bounded from
inside the process: IsolatedExtractor (isolated.py) runs `extract` in worker processes with a
memory limit and a timeout per file."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

from ..model import Child, Extracted, ExtractionFailed, TextPart
from .doc import extract_doc
from .docx import extract_docx
from .errors import Crashed, OutOfMemory, TimedOut
from .htmldoc import extract_html
from .isolated import IsolatedExtractor
from .mail import extract_email
from .mbox import extract_mbox
from .msg import extract_msg
from .pdf import extract_pdf
from .plaintext import extract_text
from .rtf import extract_rtf
from .sniff import KINDS, sniff
from .xls import extract_xls
from .xlsx import extract_xlsx
from .ziparchive import extract_zip

__all__ = [
    "KINDS",
    "Crashed",
    "Extracted",
    "ExtractionFailed",
    "IsolatedExtractor",
    "OutOfMemory",
    "TimedOut",
    "extract",
    "sniff",
]

_EXTRACTORS: dict[str, Callable[[bytes, str, bool], Extracted]] = {
    "pdf": lambda data, _, ocr: extract_pdf(data, ocr=ocr),
    "rtf": lambda data, _, __: extract_rtf(data),
    "docx": lambda data, _, __: extract_docx(data),
    "html": lambda data, _, __: extract_html(data),
    "text": lambda data, name, _: extract_text(data, name),
    "email": lambda data, _, __: extract_email(data),
    "mbox": lambda data, _, __: extract_mbox(data),
    "zip": lambda data, _, __: extract_zip(data),
    "doc": lambda data, _, __: extract_doc(data),
    "xls": lambda data, _, __: extract_xls(data),
    "xlsx": lambda data, _, __: extract_xlsx(data),
    "msg": lambda data, _, __: extract_msg(data),
}
_SURROGATES = re.compile("[\ud800-\udfff]")


def extract(data: bytes, name: str, *, ocr: bool = True) -> Extracted:
    """The text parts, children and metadata of one file; ExtractionFailed when it cannot be read."""
    kind = sniff(data, name)
    try:
        extracted = _EXTRACTORS[kind](data, name, ocr)
    except ExtractionFailed:
        raise
    except MemoryError:
        raise OutOfMemory("ran out of memory") from None
    except RecursionError:
        raise ExtractionFailed(f"could not read the {kind}: nested too deeply") from None
    except Exception as error:
        # Hostile input that trips a library must fail this file, not the batch it is in.
        raise ExtractionFailed(f"could not read the {kind}: {type(error).__name__}: {error}") from None
    return _without_surrogates(extracted)


def _without_surrogates(extracted: Extracted) -> Extracted:
    """Lone surrogates (from undecodable names and headers) cannot be stored or sent as UTF-8."""

    def clean(text: str) -> str:
        return _SURROGATES.sub("\ufffd", text) if _SURROGATES.search(text) else text

    return dataclasses.replace(
        extracted,
        title=clean(extracted.title) if extracted.title is not None else None,
        parts=tuple(TextPart(part.number, clean(part.text), part.language) for part in extracted.parts),
        children=tuple(Child(clean(child.name), child.data) for child in extracted.children),
        metadata={clean(key): clean(value) for key, value in extracted.metadata.items()},
    )
