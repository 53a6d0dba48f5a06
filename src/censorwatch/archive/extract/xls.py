"""Excel 97-2003 workbooks (.xls, BIFF5 and BIFF8 in an OLE2 file) to text with xlrd, laid out
as .xlsx workbooks are (xlsx.Sheets: one part per sheet, its name first); title, author and
creation time from the OLE2 summary properties.

xlrd is pure Python and reads the whole workbook stream, which is no bigger than the file (it
checks its own sector chains); sheets are loaded one at a time (on_demand) and released after.
Text in BIFF8 is UTF-16; BIFF5 text is in the workbook's CODEPAGE (cp1251 for Russian Excel
95), which xlrd applies. xlrd's warnings about odd records go nowhere: it writes them to a log
file, standard output by default."""

from __future__ import annotations

import struct
from datetime import datetime

import xlrd
from xlrd.biffh import XL_CELL_BOOLEAN, XL_CELL_DATE, XL_CELL_NUMBER, XL_CELL_TEXT
from xlrd.compdoc import CompDocError

from ..model import Extracted, ExtractionFailed
from .ole import summary_of
from .xlsx import Sheets


class _Discard:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


def extract_xls(data: bytes) -> Extracted:
    title, created, metadata = summary_of(data)
    try:
        return _read(data, title, created, metadata)
    except xlrd.XLRDError as error:
        if "encrypted" in str(error).lower():
            raise ExtractionFailed("encrypted: a password-protected Excel workbook") from None
        raise ExtractionFailed(f"corrupt Excel 97-2003 workbook: {error}") from None
    except CompDocError as error:
        raise ExtractionFailed(f"corrupt OLE2 compound file: {error}") from None
    except (struct.error, IndexError, KeyError, ValueError, UnicodeDecodeError, AssertionError) as error:
        # What xlrd's record parsing meets in a damaged workbook stream (it asserts some invariants).
        raise ExtractionFailed(f"corrupt Excel 97-2003 workbook: {type(error).__name__}: {error}") from None


def _read(data: bytes, title: str | None, created: datetime | None, metadata: dict[str, str]) -> Extracted:
    book = xlrd.open_workbook(file_contents=data, on_demand=True, ragged_rows=True, logfile=_Discard())
    try:
        sheets = Sheets()
        for index, name in enumerate(book.sheet_names()):
            if not sheets.room_for_another(name):
                continue
            sheet = book.sheet_by_index(index)
            sheets.add(name, (_row(book, sheet, number) for number in range(sheet.nrows)))
            book.unload_sheet(index)
    finally:
        book.release_resources()
    return sheets.extracted("xls", title, created, metadata)


def _row(book: xlrd.Book, sheet: xlrd.sheet.Sheet, number: int) -> list[object]:
    values: list[object] = []
    for kind, value in zip(sheet.row_types(number), sheet.row_values(number), strict=False):
        if kind in (XL_CELL_TEXT, XL_CELL_NUMBER):
            values.append(value)
        elif kind == XL_CELL_DATE:
            values.append(_date(book, value))
        elif kind == XL_CELL_BOOLEAN:
            values.append(bool(value))
        else:  # empty, blank, and error values (#N/A, #DIV/0!) that say nothing
            values.append(None)
    return values


def _date(book: xlrd.Book, value: float) -> object:
    """A date cell as a datetime; the number itself when it is no date (before 1900, or 1904
    workbook dates that xlrd refuses)."""
    try:
        return xlrd.xldate_as_datetime(value, book.datemode)
    except (xlrd.xldate.XLDateError, ValueError, OverflowError):
        return value

