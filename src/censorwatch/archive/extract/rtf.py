"""RTF to text: Roskomnadzor's notifications are Word RTF in cp1251 with `\\'hh` and `\\uN` escapes.

A converter of our own rather than striprtf: striprtf reads the text right on those files, but it
decodes every `\\'hh` with one code page given by the caller (it does not read `\\ansicpg` or the
fonts' `\\fcharset`), has no `\\bin`, and returns neither title nor date. This one keeps a state
per group on a list (no recursion, so nesting costs memory, not stack), decodes bytes in the
code page of the current font, and reads `\\info` for the title and the creation and revision
times.

Those times are kept in the metadata (`created`, `revised`), not made the document's date: RTF is
mostly written by programs filling a template, whose times they keep. All of Roskomnadzor's notices
from 2018 and 2019 in ../shared/data say "created 2018-03-21 14:55" (and most "revised
2018-12-29"), the template's, whatever day they were sent; a date that wrong would misplace them
on every timeline. The e-mail that carried a notice has the day it was sent.

A font declared ANSI (`\\fcharset0`) is read in the document's `\\ansicpg`: Word gives Cyrillic
text a `\\fcharset204` font, while other writers (1C and friends) declare `\\fcharset0` for cp1251
text; reading such bytes as cp1252 would garble every Russian letter."""

from __future__ import annotations

import re
from datetime import datetime

from ..model import Extracted, ExtractionFailed, TextPart
from .encoding import code_page_codec
from .limits import MAX_RTF_DEPTH
from .normalise import TextBudget, tidy

_TOKEN = re.compile(
    rb"\\([a-zA-Z]{1,32})(-?\d{1,10})? ?"  # 1, 2: control word and its parameter
    rb"|((?:\\'[0-9a-fA-F]{2})+)"  # 3: bytes in the current code page
    rb"|\\([^a-zA-Z'])"  # 4: control symbol
    rb"|([{}])"  # 5: group
    rb"|[\r\n]+"  # line breaks of the file, not of the text
    rb"|([^\\{}\r\n]+)"  # 6: text
)

# Groups whose content is not text of the document (tables of fonts, colours and styles,
# pictures, embedded objects' data, field instructions, revision and list tables).
_SKIPPED = frozenset(
    b"colortbl stylesheet pict objdata objclass themedata colorschememapping datastore "
    b"latentstyles listtable listoverridetable rsidtbl xmlnstbl mmathPr fldinst pgdsctbl "
    b"revtbl filetbl generator bkmkstart bkmkend".split()
)
_INFO_TEXT = {b"title": "title", b"subject": "subject", b"author": "author", b"keywords": "keywords",
              b"company": "company", b"operator": "operator", b"doccomm": "comment"}
_INFO_TIME = {b"creatim": "created", b"revtim": "revised"}
_SPECIAL = {
    b"par": "\n", b"line": "\n", b"sect": "\n", b"page": "\n", b"row": "\n", b"nestrow": "\n",
    b"tab": "\t", b"cell": "\t", b"nestcell": "\t", b"emdash": "\u2014", b"endash": "\u2013",
    b"bullet": "\u2022", b"lquote": "\u2018", b"rquote": "\u2019", b"ldblquote": "\u201c",
    b"rdblquote": "\u201d", b"emspace": " ", b"enspace": " ", b"qmspace": " ",
}
_SYMBOLS = {b"~": "\u00a0", b"_": "\u2011", b"-": "", b"\\": "\\", b"{": "{", b"}": "}", b"\n": "\n", b"\r": "\n",
            b"\t": "\t", b"|": "", b":": ""}
# \fcharset values (Word's font charsets) to Python codecs; 0 (ANSI) and 1 (default) mean the
# document's code page (see the module's docstring).
_CHARSETS = {2: "cp1252", 77: "mac_roman", 128: "cp932", 129: "cp949", 134: "gb18030", 136: "cp950",
             161: "cp1253", 162: "cp1254", 163: "cp1258", 177: "cp1255", 178: "cp1256", 186: "cp1257",
             204: "cp1251", 222: "cp874", 238: "cp1250", 254: "cp437", 255: "cp850"}
# Control words that change what this reader does; the others (most of a Word file: \rtlch,
# \insrsid, \fs24...) only count as one character after a \uN, and are passed over quickly.
_MEANINGFUL = frozenset(
    {b"u", b"f", b"plain", b"uc", b"fonttbl", b"fcharset", b"cpg", b"ansicpg", b"mac", b"pc", b"pca", b"deff",
     b"info"}
    | set(_SPECIAL) | _SKIPPED | set(_INFO_TEXT) | set(_INFO_TIME)
)
_BODY = "body"
_SKIP = "skip"


def extract_rtf(data: bytes) -> Extracted:
    reader = _Reader()
    reader.read(data)
    budget = TextBudget()
    text = budget.take(tidy(reader.text()))
    metadata = {key: value for key, value in reader.info_text().items() if key != "title"}
    metadata["encoding"] = reader.codepage
    for name in _INFO_TIME.values():
        if (moment := reader.time(name)) is not None:
            metadata[name] = moment.isoformat(sep=" ")
    if reader.overflow_seen:
        metadata["rtf_nesting"] = f"groups nested deeper than {MAX_RTF_DEPTH}: their formatting was ignored"
    return Extracted(
        kind="rtf",
        title=reader.info_text().get("title") or None,
        date=None,
        parts=(TextPart(1, text),),
        metadata=budget.note(metadata),
    )


class _Reader:
    def __init__(self) -> None:
        self.codepage = "cp1252"
        self.default_font = 0
        self.fonts: dict[int, str] = {}
        self.defining_font = 0
        self.targets: dict[str, list[str]] = {_BODY: []}
        self.times: dict[str, dict[bytes, int]] = {}
        self.overflow_seen = False
        # Per group: destination, \uc skip count, code page of the current font.
        self.stack: list[tuple[str, int, str | None]] = []
        self.overflow = 0
        self.dest = _BODY
        self.uc = 1
        self.font_codec: str | None = None
        self.pending = bytearray()
        self.pending_codec = ""
        self.skip = 0

    def read(self, data: bytes) -> None:
        if not data.lstrip()[:5] == b"{\\rtf":
            raise ExtractionFailed("not RTF: no {\\rtf header")
        position = 0
        while position < len(data):
            position = self._run(data, position)
        self._flush()

    def text(self) -> str:
        joined = "".join(self.targets[_BODY])
        # \uN gives UTF-16 code units: astral characters arrive as surrogate pairs.
        return joined.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")

    def info_text(self) -> dict[str, str]:
        return {key[5:]: "".join(parts).strip() for key, parts in self.targets.items() if key.startswith("info:")}

    def time(self, name: str) -> datetime | None:
        fields = self.times.get(name)
        if not fields:
            return None
        try:
            return datetime(fields.get(b"yr", 0), fields.get(b"mo", 1), fields.get(b"dy", 1),
                            fields.get(b"hr", 0), fields.get(b"min", 0), fields.get(b"sec", 0))
        except ValueError:
            return None

    def _run(self, data: bytes, position: int) -> int:
        """Tokens from `position` to the end, or to just after a \\bin's binary data."""
        for match in _TOKEN.finditer(data, position):
            group = match.lastindex
            if group == 6:
                self._text(match.group(6))
            elif group == 3:
                self._hex(match.group(3))
            elif group == 5:
                self._brace(match.group(5))
            elif group in (1, 2):
                word, parameter = match.group(1), match.group(2)
                if word not in _MEANINGFUL and not self.dest.startswith("time:"):
                    if word == b"bin" and parameter is not None and int(parameter) > 0:
                        return match.end() + int(parameter)  # binary data: never text
                    if self.skip:
                        self.skip -= 1
                    continue
                self._word(word, int(parameter) if parameter is not None else None)
            elif group == 4:
                self._symbol(match.group(4))
        return len(data)

    def _codec(self) -> str:
        if self.font_codec is not None:
            return self.font_codec
        return self.fonts.get(self.default_font, self.codepage)

    def _out(self) -> list[str] | None:
        return None if self.dest == _SKIP or self.dest == "fonttbl" else self.targets.get(self.dest)

    def _text(self, chunk: bytes) -> None:
        if self.skip:
            taken = min(self.skip, len(chunk))
            self.skip -= taken
            chunk = chunk[taken:]
        if chunk:
            self._bytes(chunk)

    def _hex(self, escapes: bytes) -> None:
        self._text(bytes.fromhex(escapes.replace(b"\\'", b"").decode("ascii")))

    def _bytes(self, chunk: bytes) -> None:
        if self._out() is None:
            return
        codec = self._codec()
        if self.pending and codec != self.pending_codec:
            self._flush()
        self.pending_codec = codec
        self.pending += chunk

    def _emit(self, text: str) -> None:
        out = self._out()
        if out is not None:
            self._flush()
            out.append(text)

    def _flush(self) -> None:
        if self.pending:
            out = self._out()
            if out is not None:
                out.append(self.pending.decode(self.pending_codec, "replace"))
            self.pending.clear()

    def _brace(self, brace: bytes) -> None:
        self._flush()
        self.skip = 0
        if brace == b"{":
            if len(self.stack) >= MAX_RTF_DEPTH:
                self.overflow += 1
                self.overflow_seen = True
            else:
                self.stack.append((self.dest, self.uc, self.font_codec))
        elif self.overflow:
            self.overflow -= 1
        elif self.stack:
            self.dest, self.uc, self.font_codec = self.stack.pop()

    def _symbol(self, symbol: bytes) -> None:
        if self.skip:
            self.skip -= 1
        elif symbol == b"*":
            self._destination(_SKIP)  # an optional destination this reader does not know
        elif symbol in _SYMBOLS:
            self._emit(_SYMBOLS[symbol])

    def _destination(self, dest: str) -> None:
        self._flush()
        if self.dest != _SKIP:
            self.dest = dest

    def _word(self, word: bytes, value: int | None) -> None:
        if self.skip:
            self.skip -= 1
            return
        if word == b"u" and value is not None:
            self._emit(chr(value % 65536))
            self.skip = self.uc
        elif word in _SPECIAL:
            self._emit(_SPECIAL[word])
        elif word == b"f" and value is not None:
            if self.dest == "fonttbl":
                self.defining_font = value
            else:
                self._flush()
                self.font_codec = self.fonts.get(value, self.codepage)
        elif word == b"plain":
            self._flush()
            self.font_codec = None
        elif word == b"uc" and value is not None:
            self.uc = max(0, min(value, 8))
        elif word in _SKIPPED:
            self._destination(_SKIP)
        else:
            self._header_word(word, value)

    def _header_word(self, word: bytes, value: int | None) -> None:
        if word == b"fonttbl":
            self._destination("fonttbl")
        elif word in (b"fcharset", b"cpg") and self.dest == "fonttbl" and value is not None:
            codec = _CHARSETS.get(value) if word == b"fcharset" else code_page_codec(value)
            if codec is not None:
                self.fonts[self.defining_font] = codec
            elif word == b"fcharset" and value in (0, 1):
                self.fonts.pop(self.defining_font, None)
        elif word == b"ansicpg" and value is not None:
            self.codepage = code_page_codec(value) or self.codepage
        elif word in (b"mac", b"pc", b"pca"):
            self.codepage = {b"mac": "mac_roman", b"pc": "cp437", b"pca": "cp850"}[word]
        elif word == b"deff" and value is not None:
            self.default_font = value
        elif word == b"info":
            self._destination("info")
        elif self.dest.startswith("info") and word in _INFO_TEXT:
            self._destination("info:" + _INFO_TEXT[word])
            if self.dest != _SKIP:
                self.targets.setdefault(self.dest, [])
        elif self.dest.startswith("info") and word in _INFO_TIME:
            self._destination("time:" + _INFO_TIME[word])
        elif self.dest.startswith("time:") and value is not None:
            self.times.setdefault(self.dest[5:], {})[word] = value
