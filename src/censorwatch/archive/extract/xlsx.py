"""Excel workbooks (.xlsx, .xlsm) to text with openpyxl in read-only mode: cell values (the
cached results of formulas, never the formulas), one part per sheet that starts with the
sheet's name, cells separated by tabs and rows by lines; title, author and creation time
from the core properties. `Sheets` lays out the pages of .xls workbooks (xls.py) the same way.

openpyxl reads the package with zipfile, which decompresses a member up to the size the ZIP
directory declares and no further; so bounded_zip's checks of the directory, and the checks
below of each declared size and compression ratio, bound what it can be made to decompress.
It parses the shared strings, styles and workbook parts whole into Python objects: those are
held to MAX_XLSX_PART (a shared-strings bomb is a few KiB of ZIP that would expand to millions
of strings); worksheets are streamed row by row and bounded by the cells read."""

from __future__ import annotations

import io
import re
import struct
import time
import warnings
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from datetime import time as clock

from ..model import Extracted, ExtractionFailed, TextPart
from .bounded_zip import open_archive, read_named
from .limits import (
    MAX_SHEET_CELLS,
    MAX_SHEETS,
    MAX_XLSX_PART,
    MAX_ZIP_MEMBER,
    MAX_ZIP_RATIO,
    MAX_ZIP_TOTAL,
    SHEET_BUDGET_SECONDS,
    ZIP_RATIO_FLOOR,
    MiB,
)
from .normalise import TextBudget, tidy

_CONTENT_TYPES = "[Content_Types].xml"
_WORKSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_OVERRIDE = re.compile(r"<(?:\w+:)?Override\b[^>]*>")
_ATTRIBUTE = re.compile(r"""\b(PartName|ContentType)\s*=\s*(["'])(.*?)\2""")
_CORRUPT = (zipfile.BadZipFile, zlib.error, EOFError, OSError, struct.error, KeyError, ValueError, TypeError,
            IndexError, AttributeError, SyntaxError)
# Parts openpyxl parses; the others (images, binaries) it never reads in read-only mode.
_PARSED = (".xml", ".rels", ".vml")


def extract_xlsx(data: bytes) -> Extracted:
    archive = open_archive(data)
    _check_parts(data, archive)
    with warnings.catch_warnings():
        # "Workbook contains no default style", "Unknown extension is not supported"...: not the text's business.
        warnings.simplefilter("ignore")
        try:
            return _read(data)
        except _CORRUPT as error:
            # openpyxl's and zipfile's words for a package they cannot read: a missing part
            # (KeyError), invalid XML (ValueError), a bad CRC or deflate stream...
            raise ExtractionFailed(f"corrupt Excel workbook: {type(error).__name__}: {error}") from None


def _read(data: bytes) -> Extracted:
    # Imported here: openpyxl takes a quarter of a second to import (it imports numpy when it
    # can), which every worker and every CLI run would pay, workbooks or not.
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
    try:
        sheets = Sheets()
        for worksheet in book.worksheets:
            if not sheets.room_for_another(worksheet.title):
                continue
            worksheet.reset_dimensions()  # rows as stored, not padded to what the sheet claims
            sheets.add(worksheet.title, worksheet.iter_rows(values_only=True))
        properties = book.properties
        title = (properties.title or "").strip() or None
        created = properties.created if isinstance(properties.created, datetime) else None
        metadata = {key: str(value).strip() for key, value in (
            ("author", properties.creator), ("subject", properties.subject),
            ("description", properties.description), ("keywords", properties.keywords),
            ("modified_by", properties.lastModifiedBy),
            ("modified", properties.modified.isoformat() if properties.modified else None),
        ) if value and str(value).strip()}
    finally:
        book.close()
    return sheets.extracted("xlsx", title, created, metadata)


class Sheets:
    """The pages of one workbook: a sheet's name, then its rows; cells counted against
    MAX_SHEET_CELLS and SHEET_BUDGET_SECONDS, text against the document's budget."""

    def __init__(self) -> None:
        self.parts: list[TextPart] = []
        self.names: list[str] = []
        self.budget = TextBudget()
        self.cells_left = MAX_SHEET_CELLS
        self.deadline = time.monotonic() + SHEET_BUDGET_SECONDS
        self.skipped: list[str] = []

    def room_for_another(self, name: str) -> bool:
        if len(self.names) >= MAX_SHEETS:
            if not self.skipped or not self.skipped[-1].startswith("sheets after"):
                self.skipped.append(f"sheets after the first {MAX_SHEETS}")
            return False
        if self.cells_left <= 0 or time.monotonic() > self.deadline:
            self.skipped.append(f"sheet {name!r}: not read, the workbook's budget was spent")
            return False
        return True

    def add(self, name: str, rows: Iterable[Sequence[object]]) -> None:
        self.names.append(name)
        lines = [name]
        for number, row in enumerate(rows):
            self.cells_left -= max(1, len(row))
            if self.cells_left < 0 or (number % 1000 == 0 and time.monotonic() > self.deadline):
                self.skipped.append(f"sheet {name!r}: rows from {number + 1} on, past the workbook's "
                                    f"{MAX_SHEET_CELLS:,} cells or {SHEET_BUDGET_SECONDS:g} s")
                break
            line = "\t".join(cell_text(value) for value in row).rstrip("\t")
            if line.strip():
                lines.append(line)
        self.parts.append(TextPart(len(self.parts) + 1, self.budget.take(tidy("\n".join(lines)))))

    def extracted(self, kind: str, title: str | None, created: datetime | None, metadata: dict[str, str]) -> Extracted:
        metadata["sheets"] = "\n".join(self.names)
        if self.skipped:
            metadata["skipped"] = "\n".join(self.skipped)
        return Extracted(kind=kind, title=title, date=created, parts=tuple(self.parts),
                         metadata=self.budget.note(metadata))


def cell_text(value: object) -> str:
    """A cell's value as a reader sees it: 42 not 42.0, dates as ISO dates, no None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == clock() else value.isoformat(sep=" ")
    if isinstance(value, (date, clock)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value).replace("\t", " ").replace("\r\n", " ").replace("\n", " ")


def _check_parts(data: bytes, archive: zipfile.ZipFile) -> None:
    """Refuse the workbook before openpyxl reads it when a part would decompress beyond a bound."""
    streamed = _worksheet_parts(data, archive)
    total = 0
    for info in archive.infolist():
        name = info.filename
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            # zipfile's bzip2 and LZMA readers decompress without an output limit; Excel never uses them.
            raise ExtractionFailed(f"Excel workbook part {name}: compression method {info.compress_type} not supported")
        if info.flag_bits & 0x1:
            raise ExtractionFailed(f"Excel workbook part {name}: encrypted")
        size = info.file_size
        if size > ZIP_RATIO_FLOOR and size > MAX_ZIP_RATIO * max(1, info.compress_size):
            raise ExtractionFailed(f"Excel workbook part {name}: expands more than {MAX_ZIP_RATIO} times its "
                                   f"compressed size (a zip bomb?)")
        if size > MAX_ZIP_MEMBER:
            raise ExtractionFailed(f"Excel workbook part {name}: {size // MiB} MiB, more than {MAX_ZIP_MEMBER // MiB}")
        if name.lower().endswith(_PARSED) and name not in streamed and size > MAX_XLSX_PART:
            raise ExtractionFailed(f"Excel workbook part {name}: {size // MiB} MiB to parse whole, more than "
                                   f"{MAX_XLSX_PART // MiB} MiB")
        total += size
    if total > MAX_ZIP_TOTAL:
        raise ExtractionFailed(f"Excel workbook expanding to {total // MiB} MiB, more than {MAX_ZIP_TOTAL // MiB}")


def _worksheet_parts(data: bytes, archive: zipfile.ZipFile) -> set[str]:
    """Parts that [Content_Types].xml declares worksheets and nothing else: openpyxl streams
    those; a part also declared shared strings (openpyxl finds them by content type) is not one."""
    declared = read_named(data, archive, _CONTENT_TYPES, MAX_XLSX_PART)
    if declared is None:
        return set()
    kinds: dict[str, set[str]] = {}
    for tag in _OVERRIDE.findall(declared.decode("utf-8", "replace")):
        attributes = {match.group(1): match.group(3) for match in _ATTRIBUTE.finditer(tag)}
        part = attributes.get("PartName", "").lstrip("/")
        if part:
            kinds.setdefault(part, set()).add(attributes.get("ContentType", ""))
    return {part for part, types in kinds.items() if types == {_WORKSHEET}}
