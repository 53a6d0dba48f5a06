"""The bounds every extractor keeps, in one place so the isolated extractor's memory limit and
these stay consistent: children, text and work per file are capped well below 1 GiB."""

from __future__ import annotations

MiB = 1 << 20

# Text kept per document: beyond it the text is cut and `metadata["truncated"]` says where.
# 64 Mi characters is a 20,000-page book; a bigger "text" is a log or a dump, not a document.
MAX_TEXT_CHARS = 64 * MiB
# Bytes of a text-like file (text, HTML, e-mail body) decoded at most.
MAX_TEXT_BYTES = 128 * MiB

# ZIP (and DOCX, which is a ZIP).
MAX_ZIP_MEMBERS = 10_000
# What all members of one archive may expand to, together; children are returned in memory,
# and the isolated worker holds them twice while sending them (1 GiB address space).
MAX_ZIP_TOTAL = 256 * MiB
MAX_ZIP_MEMBER = 128 * MiB
# Deflate reaches ~1000:1 only on degenerate input (zeros); office XML stays under ~50:1.
MAX_ZIP_RATIO = 250
# Small members may have any ratio: a 4 MiB file of spaces is not a bomb.
ZIP_RATIO_FLOOR = 4 * MiB
# The central directory is parsed into Python objects (~500 bytes each): bound it before.
MAX_ZIP_DIRECTORY = 16 * MiB
# A DOCX part (document.xml, notes) read at most.
MAX_DOCX_PART = 64 * MiB

# PDF.
MAX_PDF_PAGES = 5_000
MAX_OCR_PAGES = 200
# OCR of one document stops after this many seconds (the rest is flagged needs_ocr), so that
# the isolated extractor's default 60 s per file leaves room for the text layer of the others.
OCR_BUDGET_SECONDS = 45.0
OCR_PAGE_TIMEOUT = 30.0
OCR_DPI = 300
# A rendered page bigger than this is rendered at a lower resolution (poster-sized pages).
MAX_OCR_PIXELS = 40_000_000

# RTF: groups nested deeper keep their text but not their formatting state.
MAX_RTF_DEPTH = 1_000

# E-mail and mbox.
MAX_MIME_DEPTH = 32
MAX_MIME_PARTS = 2_000
MAX_MBOX_MESSAGES = 50_000

# Spreadsheets (.xlsx, .xls). Cells are counted as read, the empty ones that pad a row included,
# so that a sheet whose one cell sits in column XFD costs what it makes us do. openpyxl reads
# ~100,000 cells a second here: the count and the time budget both end a workbook well within
# the isolated extractor's 60 s; what is left unread is recorded in `metadata["skipped"]`.
MAX_SHEET_CELLS = 2_000_000
MAX_SHEETS = 1_000
SHEET_BUDGET_SECONDS = 40.0
# .xlsx parts that openpyxl parses whole (shared strings, styles, the workbook) as their ZIP
# directory declares them; worksheets are streamed and bounded by the cells. 16 MiB of shared
# strings took 10 s and 250 MiB of Python objects (a shared-strings bomb is a few KiB of ZIP).
MAX_XLSX_PART = 16 * MiB

# Word 97-2003 (.doc), read by Debian's antiword as a subprocess.
ANTIWORD_TIMEOUT = 30.0
MAX_ANTIWORD_OUTPUT = MAX_TEXT_BYTES

# Outlook (.msg): attachments are children held in memory, like a ZIP's members; embedded
# messages nest like MIME parts.
MAX_MSG_ATTACHMENTS = MAX_MIME_PARTS
MAX_MSG_CHILDREN_TOTAL = MAX_ZIP_TOTAL
MAX_MSG_DEPTH = MAX_MIME_DEPTH
