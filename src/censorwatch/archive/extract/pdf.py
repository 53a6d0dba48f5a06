"""PDF to text with pypdfium2: one TextPart per page (number = page number), title and date
from the document information; pages without a text layer are rendered and OCR'd when asked
and tesseract is installed, else the document is flagged needs_ocr.

PDFium is not thread-safe, so one lock serialises PDFs within a process; parallelism comes
from processes (isolated.py). PDFium is also a large C library reading hostile input: bound
it from outside with the isolated extractor."""

from __future__ import annotations

import math
import re
import threading
import time
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from ..model import Extracted, ExtractionFailed, TextPart
from . import ocr as tesseract
from .dates import parse_date
from .limits import MAX_OCR_PAGES, MAX_OCR_PIXELS, MAX_PDF_PAGES, OCR_BUDGET_SECONDS, OCR_DPI, OCR_PAGE_TIMEOUT
from .normalise import TextBudget, tidy

_PDFIUM = threading.Lock()
# Text that is no text: unmapped glyphs (fonts without ToUnicode), private use, controls.
_GARBAGE = re.compile(r"[\ufffd\ue000-\uf8ff\x00-\x08\x0e-\x1f]")
_INFO_FIELDS = {"Author": "author", "Subject": "subject", "Keywords": "keywords", "Creator": "creator",
                "Producer": "producer"}


def extract_pdf(data: bytes, *, ocr: bool = True) -> Extracted:
    with _PDFIUM:
        document = _open(data)
        try:
            return _read(document, _Ocr(enabled=ocr))
        finally:
            document.close()


def _open(data: bytes) -> Any:
    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as error:
        if error.err_code == pdfium_c.FPDF_ERR_PASSWORD:
            raise ExtractionFailed("encrypted PDF: it needs a password") from None
        if error.err_code == pdfium_c.FPDF_ERR_SECURITY:
            raise ExtractionFailed("encrypted PDF: unsupported security handler") from None
        raise ExtractionFailed(f"corrupt PDF: {error}") from None


def _read(document: Any, reader: _Ocr) -> Extracted:
    info = _information(document)
    count = len(document)
    if count == 0:
        raise ExtractionFailed("corrupt PDF: no readable pages")
    budget = TextBudget()
    parts: list[TextPart] = []
    unreadable: list[str] = []
    for index in range(min(count, MAX_PDF_PAGES)):
        try:
            page = document[index]
        except pdfium.PdfiumError:
            unreadable.append(str(index + 1))
            continue
        try:
            text = _page_text(page, reader)
        finally:
            page.close()
        parts.append(TextPart(index + 1, budget.take(tidy(text))))
    if not parts:
        raise ExtractionFailed(f"corrupt PDF: none of its {count} pages could be read")
    metadata = {key: value for key, value in info.items() if key in _INFO_FIELDS.values()}
    metadata["pages"] = str(count)
    if count > MAX_PDF_PAGES:
        metadata["truncated"] = f"only the first {MAX_PDF_PAGES} of {count} pages read"
    if unreadable:
        metadata["unreadable_pages"] = ", ".join(unreadable)
    reader.note(metadata)
    return Extracted(
        kind="pdf",
        title=info.get("title") or None,
        date=parse_date(info.get("created")) or parse_date(info.get("modified")),
        parts=tuple(parts),
        metadata=budget.note(metadata),
        needs_ocr=reader.missed > 0,
    )


def _information(document: Any) -> dict[str, str]:
    try:
        raw: dict[str, str] = document.get_metadata_dict(skip_empty=True)
    except pdfium.PdfiumError:
        return {}
    names = {**_INFO_FIELDS, "Title": "title", "CreationDate": "created", "ModDate": "modified"}
    cleaned = {names[key]: _GARBAGE.sub("", str(value)).strip() for key, value in raw.items() if key in names}
    return {key: value for key, value in cleaned.items() if value}


def _page_text(page: Any, reader: _Ocr) -> str:
    textpage = page.get_textpage()
    try:
        text = str(textpage.get_text_range()) if textpage.count_chars() > 0 else ""
    finally:
        textpage.close()
    if _is_text(text) or pdfium_c.FPDFPage_CountObjects(page.raw) == 0:
        return text
    recognised = reader.read(page)
    return text if recognised is None else recognised


def _is_text(text: str) -> bool:
    visible = len(text) - text.count(" ") - text.count("\n") - text.count("\r")
    return visible > 0 and len(_GARBAGE.findall(text)) * 2 < visible


class _Ocr:
    """OCR of the pages without text, within a page count and a time budget per document;
    pages past them are counted as missed (needs_ocr) rather than failing the document."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled and tesseract.available()
        self.done = 0
        self.missed = 0
        self.errors: list[str] = []
        self.deadline: float | None = None

    def read(self, page: Any) -> str | None:
        now = time.monotonic()
        if self.deadline is None:
            self.deadline = now + OCR_BUDGET_SECONDS
        if not self.enabled or self.done >= MAX_OCR_PAGES or now >= self.deadline:
            self.missed += 1
            return None
        try:
            text = tesseract.recognise(_render(page), timeout=min(OCR_PAGE_TIMEOUT, self.deadline - now))
        except (tesseract.OcrFailed, pdfium.PdfiumError) as error:
            self.errors.append(str(error))
            self.missed += 1
            return None
        self.done += 1
        return text

    def note(self, metadata: dict[str, str]) -> None:
        if self.done:
            metadata["ocr_pages"] = str(self.done)
            metadata["ocr_languages"] = "+".join(tesseract.languages())
        if self.errors:
            metadata["ocr_errors"] = "; ".join(sorted(set(self.errors)))


def _render(page: Any) -> bytes:
    width, height = page.get_size()
    scale = OCR_DPI / 72
    pixels = width * height * scale * scale
    if pixels > MAX_OCR_PIXELS:
        scale *= math.sqrt(MAX_OCR_PIXELS / pixels)
    bitmap = page.render(scale=scale, grayscale=True)
    try:
        if bitmap.n_channels != 1:
            raise tesseract.OcrFailed("page did not render to greyscale")
        return tesseract.pgm(bitmap.width, bitmap.height, bitmap.stride, memoryview(bitmap.buffer))
    finally:
        bitmap.close()
