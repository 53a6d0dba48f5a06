"""Bytes of unknown encoding to text: BOMs, UTF-8, UTF-16 without a BOM, the Cyrillic single-byte
code pages, then charset-normalizer for the rest (GB18030, Big5, Shift-JIS, the Latin pages...).

charset-normalizer alone is not enough for this archive: it reads a short Russian sentence in
KOI8-R as Shift-JIS, and cp1251, KOI8-R and cp866 all decode every byte, so only the language
tells them apart. Russian is decided here, first, by letter frequencies and letter case. CJK is
left to charset-normalizer, whose per-language character frequencies tell GB18030 from EUC-KR;
a strict decode cannot (GB18030 decodes nearly any byte pairs)."""

from __future__ import annotations

import codecs
import functools
import math
import re
from collections import Counter
from dataclasses import dataclass

from charset_normalizer import from_bytes

# Enough text to judge; the whole file is then decoded with the verdict.
_SAMPLE = 32 * 1024
# The language checks need less: a few paragraphs.
_LANGUAGE_SAMPLE = 8 * 1024

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# Supersets that decode what their labels promise and more (WHATWG's practice for the web).
_SUPERSETS = {
    "ascii": "cp1252",
    "latin_1": "cp1252",
    "iso8859_1": "cp1252",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "euc_cn": "gb18030",
    "hz": "gb18030",
    "big5": "cp950",
    "shift_jis": "cp932",
    "euc_kr": "cp949",
    "iso8859_9": "cp1254",
    "tis_620": "cp874",
}

# In order of preference when two read equally well (short or all-capital texts).
_CYRILLIC_PAGES = ("cp1251", "koi8_r", "cp866", "iso8859_5", "koi8_u", "mac_cyrillic")

# Letter frequencies of Russian prose, per cent (Lyashevskaya & Sharov's corpus counts); the
# letters of Ukrainian and Belarusian get a small share so that their texts stay plausible.
_RUSSIAN_FREQUENCIES = {
    "о": 10.97, "е": 8.45, "а": 8.01, "и": 7.35, "н": 6.70, "т": 6.26, "с": 5.47, "р": 4.73,
    "в": 4.54, "л": 4.40, "к": 3.49, "м": 3.21, "д": 2.98, "п": 2.81, "у": 2.62, "я": 2.01,
    "ы": 1.90, "ь": 1.74, "г": 1.70, "з": 1.65, "б": 1.59, "ч": 1.44, "й": 1.21, "х": 0.97,
    "ж": 0.94, "ш": 0.73, "ю": 0.64, "ц": 0.48, "щ": 0.36, "э": 0.32, "ф": 0.26, "ъ": 0.04,
    "ё": 0.04, "і": 0.5, "ї": 0.1, "є": 0.1, "ґ": 0.02, "ў": 0.1,
}
_LOG_FREQUENCY = {letter: math.log(share / 100) for letter, share in _RUSSIAN_FREQUENCIES.items()}
_LOG_RARE = math.log(0.0001)
# Measured: Russian prose scores about -3.0 to -3.3, a three-word phrase down to -3.8; the same
# bytes read in another code page -4.0 or less (their letters are a permutation of the real ones),
# Chinese GB18030 read as cp1251 about -6.5.
_PLAUSIBLE_RUSSIAN = -3.9

_CYRILLIC_LETTER = re.compile(r"[\u0400-\u04ff]")
_CYRILLIC_WORD = re.compile(r"[\u0400-\u04ff]+")
_CAPITAL_INSIDE = re.compile(r"[а-яёіїєґў][А-ЯЁІЇЄҐЎ]")
# Spellings Russian does not have: a word starting with ь, ъ or ы, a soft or hard sign after a
# vowel, й after a consonant, a letter three times. Hebrew read as KOI8-R and Greek read as
# mac-cyrillic have letter frequencies close enough to Russian; these tell them apart.
_NOT_RUSSIAN = re.compile(r"(?<![\u0400-\u04ff])[ьъы]|[аеёиоуыэюя][ьъ]|[бвгджзклмнпрстфхцчшщ]й|([\u0400-\u04ff])\1\1")
_MIXED_SCRIPT = re.compile(r"[A-Za-z\u00c0-\u024f][\u0400-\u04ff]|[\u0400-\u04ff][A-Za-z\u00c0-\u024f]")
# Box drawing, blocks and the Greek and maths symbols cp866 and KOI8-R put where cp1251 has
# letters and punctuation: text has none.
_PSEUDO_GRAPHICS = re.compile(r"[\u2219-\u2265\u2320-\u2321\u2500-\u25a0]")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str


# Windows code page numbers (RTF's \\ansicpg and \\cpg, OLE2 property sets, Outlook's
# PR_MESSAGE_CODEPAGE) that Python knows by other names; Latin-1 read as its superset cp1252.
_CODE_PAGES = {
    1200: "utf-16-le", 1201: "utf-16-be", 10000: "mac_roman", 10007: "mac_cyrillic", 20127: "ascii",
    20866: "koi8_r", 21866: "koi8_u", 28591: "cp1252", 28595: "iso8859_5", 50220: "iso2022_jp", 51932: "euc_jp",
    52936: "hz", 54936: "gb18030", 65001: "utf-8", 936: "gb18030",
}


def code_page_codec(number: int) -> str | None:
    """Python's codec for a Windows code page number, None when Python has none."""
    try:
        return codecs.lookup(_CODE_PAGES.get(number, f"cp{number}")).name
    except LookupError:
        return None


def canonical_codec(label: str | None) -> str | None:
    """Python's codec for a charset label from a document (meta, MIME, RTF), superset first."""
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().strip("\"'").lower()).name
    except (LookupError, ValueError):
        return None
    superset = _SUPERSETS.get(name.replace("-", "_"))
    return codecs.lookup(superset).name if superset else name


def decode_text(data: bytes) -> Decoded | None:
    """The text of `data`, or None when it is not text (binary, or no encoding fits)."""
    for bom, bom_codec in _BOMS:
        if data.startswith(bom):
            return Decoded(data[len(bom):].decode(bom_codec, "replace"), bom_codec)
    codec = guess_encoding(data)
    if codec is None:
        return None
    text = data.decode(codec, "replace")
    if looks_binary(text[:_SAMPLE]):
        return None
    return Decoded(text, codecs.lookup(codec).name)


def decode_with(data: bytes, label: str | None) -> Decoded | None:
    """`data` in the encoding a document declares, when that reads cleanly; else detected.
    Valid UTF-8 with non-ASCII bytes is UTF-8 whatever the label says: mislabelled mail and
    pages say "us-ascii" or "iso-8859-1" over UTF-8, while text in another encoding is valid
    UTF-8 by chance only in a few short strings."""
    if not data.isascii():
        try:
            return Decoded(data.decode("utf-8"), "utf-8")
        except UnicodeDecodeError:
            pass
    codec = canonical_codec(label)
    if codec is not None:
        try:
            return Decoded(data.decode(codec), codec)
        except UnicodeDecodeError:
            pass
    return decode_text(data)


def looks_binary(text: str) -> bool:
    return len(_CONTROL.findall(text)) > max(2, len(text) // 100)


def guess_encoding(data: bytes) -> str | None:
    sample = _cut_at_ascii(data[:_SAMPLE], whole=len(data) <= _SAMPLE)
    utf16 = _utf16_without_bom(sample)
    if utf16 is not None:
        return utf16
    if b"\x00" in sample:
        return None
    if _is_utf8(data):
        return "utf-8"
    return _single_or_multi_byte(_cut_at_ascii(sample[:_LANGUAGE_SAMPLE], whole=len(sample) <= _LANGUAGE_SAMPLE))


# Sniffing and then extracting a file ask about the same sample twice.
@functools.lru_cache(maxsize=8)
def _single_or_multi_byte(sample: bytes) -> str | None:
    cyrillic = best_cyrillic(sample)
    if cyrillic is not None:
        return cyrillic
    best = from_bytes(sample).best()
    if best is None:
        return None
    return canonical_codec(best.encoding) or best.encoding


def russian_score(text: str) -> float:
    """Mean log-frequency of the Cyrillic letters, less penalties for what Russian never does:
    capitals inside lower-case words, Latin and Cyrillic letters in one word, impossible
    spellings, box drawing. Counted with Counter and regexes, not a Python loop per letter."""
    return _penalised(text, _letter_score(text))


def best_cyrillic(sample: bytes) -> str | None:
    """The Cyrillic code page `sample` reads as Russian in, if any reads plausibly. Penalties only
    lower a score, so code pages are judged in order of letter score and the judging stops once
    no letter score left can beat the best full score."""
    candidates = []
    for order, codec in enumerate(_CYRILLIC_PAGES):
        try:
            text = sample.decode(codec)
        except UnicodeDecodeError:
            continue
        candidates.append((-_letter_score(text), order, codec, text))
    best, best_score = None, _PLAUSIBLE_RUSSIAN
    for negative, _, codec, text in sorted(candidates):
        if -negative <= best_score:
            break
        score = _penalised(text, -negative)
        if score > best_score:
            best, best_score = codec, score
    return best


def _letter_score(text: str) -> float:
    counts = Counter(text)
    letters = sum(count for char, count in counts.items() if "\u0400" <= char <= "\u04ff")
    non_ascii = sum(count for char, count in counts.items() if char > "\x7f")
    if not letters or letters < 0.6 * non_ascii:
        return -math.inf
    return sum(
        count * _LOG_FREQUENCY.get(char.lower(), _LOG_RARE)
        for char, count in counts.items()
        if "\u0400" <= char <= "\u04ff"
    ) / letters


def _penalised(text: str, score: float) -> float:
    if score == -math.inf:
        return score
    letters = len(_CYRILLIC_LETTER.findall(text))
    words = len(_CYRILLIC_WORD.findall(text))
    odd = len(_CAPITAL_INSIDE.findall(text)) + len(_MIXED_SCRIPT.findall(text))
    odd += len(_NOT_RUSSIAN.findall(text.lower()))
    graphics = len(_PSEUDO_GRAPHICS.findall(text)) / max(letters, 1)
    # cp1251 and mac-cyrillic agree on the lower-case letters; mac-cyrillic reads cp1251's
    # capitals as quotes and dashes, which a letter score alone does not see (a short notice
    # with a few capitals scored higher without them). The right reading has the fewest symbols.
    non_ascii = sum(1 for char in text if char > "\x7f")
    symbols = max(non_ascii - letters, 0) / max(non_ascii, 1)
    return score - 4.0 * odd / max(words, 1) - 4.0 * graphics - 2.0 * symbols


def _is_utf8(data: bytes) -> bool:
    """UTF-8, allowing a cut last character and rare stray bytes (one bad byte in a UTF-8 file
    must not turn the whole file into cp1251 mojibake)."""
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError as error:
        if error.start >= len(data) - 3 and error.reason == "unexpected end of data":
            return True
    text = data[:_SAMPLE].decode("utf-8", "replace")
    bad = text.count("\ufffd")
    good = _count_non_ascii(text) - bad
    return good >= 8 and bad <= good // 50


def _utf16_without_bom(sample: bytes) -> str | None:
    """UTF-16 whose high bytes are nearly all one or two values (0 for ASCII, 4 for Cyrillic);
    CJK UTF-16 without a BOM is left to charset-normalizer."""
    if len(sample) < 8:
        return None
    sample = sample[: len(sample) // 2 * 2]
    for codec, high in (("utf-16-le", sample[1::2]), ("utf-16-be", sample[0::2])):
        zeros = high.count(0)
        if zeros < len(high) // 10:
            continue
        counts = sorted((high.count(value) for value in set(high)), reverse=True)
        if sum(counts[:2]) < 0.9 * len(high):
            continue
        try:
            text = sample.decode(codec)
        except UnicodeDecodeError:
            continue
        if not looks_binary(text):
            return codec
    return None


def _count_non_ascii(text: str) -> int:
    return len(text) - len(text.encode("ascii", "ignore"))


def _cut_at_ascii(sample: bytes, *, whole: bool) -> bytes:
    """A sample cut at an ASCII byte, so that strict decodes do not fail on a split character."""
    if whole:
        return sample
    for index in range(len(sample) - 1, max(len(sample) - 64, 0), -1):
        if sample[index] < 0x80:
            return sample[: index + 1]
    return sample
