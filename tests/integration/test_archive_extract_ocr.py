"""OCR of PDF pages without a text layer, with Debian's tesseract as a subprocess. The scanned
page is made without any imaging library: PDFium renders a page of DejaVu Sans text and the
bitmap becomes the only object of a new page."""

from __future__ import annotations

import shutil

import pytest

from censorwatch.archive.extract import IsolatedExtractor, extract
from censorwatch.archive.extract import ocr as tesseract
from tests.unit.test_archive_extract_samples import DEJAVU, font_pdf, image_pdf, text_pdf

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("tesseract") is None, reason="Debian's tesseract-ocr is not installed"),
    pytest.mark.skipif(not DEJAVU.exists(), reason="no DejaVu Sans to draw Cyrillic text with (fonts-dejavu-core)"),
]

LINES = ["Роскомнадзор", "Единый реестр", "Blocking order 451555"]


@pytest.fixture(scope="module")
def scanned() -> bytes:
    return image_pdf(font_pdf(LINES))


def test_the_scanned_page_has_no_text_layer(scanned: bytes) -> None:
    extracted = extract(scanned, "scan.pdf", ocr=False)
    assert extracted.parts[0].text == ""
    assert extracted.needs_ocr


def test_a_page_without_text_is_ocrd(scanned: bytes) -> None:
    if "rus" not in tesseract.languages():
        pytest.skip("tesseract has no Russian traineddata (tesseract-ocr-rus)")
    extracted = extract(scanned, "scan.pdf")
    assert not extracted.needs_ocr
    assert extracted.parts[0].text.split("\n") == LINES
    assert extracted.metadata["ocr_pages"] == "1"
    assert "rus" in extracted.metadata["ocr_languages"].split("+")


def test_only_pages_without_text_are_ocrd(scanned: bytes) -> None:
    extracted = extract(text_pdf(["A page with its own text"]), "text.pdf")
    assert "ocr_pages" not in extracted.metadata and not extracted.needs_ocr


def test_ocr_in_a_worker_within_its_memory_limit(scanned: bytes) -> None:
    if "rus" not in tesseract.languages():
        pytest.skip("tesseract has no Russian traineddata (tesseract-ocr-rus)")
    with IsolatedExtractor(timeout=120) as extractor:
        extracted = extractor.extract(scanned, "scan.pdf")
    assert extracted.parts[0].text.split("\n") == LINES
