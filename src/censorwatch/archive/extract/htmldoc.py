"""HTML to text with selectolax (lexbor): what a reader sees, without scripts and styles, one
line per block; the title and a few meta fields. The charset is the page's own (BOM, then
<meta charset> or http-equiv) when the bytes really are in it, else detected.

lexbor's tree builder takes time quadratic in the nesting depth (20,000 nested <div>s: 1.5 s,
100,000: 100 s), so a page nested deeper than _MAX_DEPTH is read without a parser: tags
stripped, entities decoded."""

from __future__ import annotations

import html
import re

from selectolax.lexbor import LexborHTMLParser

from ..model import Extracted, ExtractionFailed, TextPart
from .dates import parse_date
from .encoding import Decoded, decode_text, decode_with
from .limits import MAX_TEXT_BYTES
from .normalise import TextBudget, tidy

# The WHATWG prescan looks at 1024 bytes; LibreOffice and Word exports put styles first.
_PRESCAN = 4096
_META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_HIDDEN = ["script", "style", "noscript", "template", "head", "svg", "object", "iframe", "select"]
_BLOCKS = (
    "p, div, section, article, header, footer, main, nav, aside, blockquote, pre, address, ul, ol, li, dl, dt, dd,"
    " table, caption, h1, h2, h3, h4, h5, h6, hr, form, fieldset, figure, figcaption, center"
)
# Markers that survive whitespace collapsing and become the block structure afterwards.
_PARAGRAPH, _LINE, _CELL = "\u2029", "\u2028", "\u241f"
_SPACES = re.compile(r"[ \t\r\n\f\v]+")
_AROUND_BREAKS = re.compile(r" *([\u2028\u2029]) *")
_META_NAMES = {"author": "author", "description": "description", "keywords": "keywords",
               "generator": "generator", "og:title": "og:title"}
_MAX_DEPTH = 3_000
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9:-]*)[^>]*?(/?)>")
# Elements that never hold others, or that the parser closes by itself: not depth.
_FLAT = frozenset(
    (
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr",
        "p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup", "tbody", "thead", "tfoot", "colgroup", "rb",
        "rt", "rp",
    )
)
_INVISIBLE = re.compile(r"<(script|style|template|noscript|head)\b.*?</\1\s*>|<!--.*?-->", re.IGNORECASE | re.DOTALL)
_BLOCK_TAG = re.compile(r"</?(p|div|br|li|tr|h[1-6]|table|section|article|blockquote|pre|dd|dt)\b[^>]*>", re.IGNORECASE)
_ANY_TAG = re.compile(r"<[^>]*>")
_DATE_NAMES = ("date", "dc.date", "dcterms.created", "dcterms.date", "article:published_time", "created")


def extract_html(data: bytes) -> Extracted:
    decoded = decode_html(data[:MAX_TEXT_BYTES])
    text, title, metadata = html_to_text(decoded.text)
    metadata["encoding"] = decoded.encoding
    budget = TextBudget()
    if len(data) > MAX_TEXT_BYTES:
        budget.truncated = True
    date = parse_date(metadata.pop("date", None))
    return Extracted(kind="html", title=title, date=date, parts=(TextPart(1, budget.take(text)),),
                     metadata=budget.note(metadata))


def decode_html(data: bytes) -> Decoded:
    declared = _META_CHARSET.search(data[:_PRESCAN])
    label = declared.group(1).decode("ascii") if declared else None
    # A meta that could be read as ASCII is not UTF-16 or UTF-32, whatever it says (WHATWG).
    unusable = label is None or "16" in label or "32" in label
    decoded = decode_text(data) if unusable else decode_with(data, label)
    if decoded is None:
        raise ExtractionFailed("unsupported format: binary data, not HTML")
    return decoded


def html_to_text(markup: str) -> tuple[str, str | None, dict[str, str]]:
    """(visible text, title, meta fields, with "date" when the page gives one)."""
    if _deeper_than(markup, _MAX_DEPTH):
        return _without_parser(markup), None, {"html_nesting": f"deeper than {_MAX_DEPTH}: read without a parser"}
    tree = LexborHTMLParser(markup)
    title_node = tree.css_first("title")
    title = _SPACES.sub(" ", title_node.text()).strip() if title_node is not None else ""
    metadata = _meta_fields(tree)
    tree.strip_tags(_HIDDEN)
    root = tree.body or tree.root
    if root is None:
        return "", title or None, metadata
    for node in root.css(_BLOCKS):
        node.insert_before(_PARAGRAPH)
        node.insert_after(_PARAGRAPH)
    for node in root.css("br, tr"):
        node.insert_after(_LINE)
    for node in root.css("td, th"):
        node.insert_after(_CELL)
    text = _SPACES.sub(" ", root.text(deep=True))
    text = _AROUND_BREAKS.sub(r"\1", text).replace(_PARAGRAPH, "\n\n").replace(_LINE, "\n")
    text = re.sub(r" *\u241f *", "\t", text)
    return tidy(text), title or None, metadata


def _meta_fields(tree: LexborHTMLParser) -> dict[str, str]:
    fields: dict[str, str] = {}
    for node in tree.css("meta"):
        attributes = node.attributes
        key = (attributes.get("name") or attributes.get("property") or "").strip().lower()
        content = (attributes.get("content") or "").strip()
        if not content:
            continue
        if key in _META_NAMES:
            fields[_META_NAMES[key]] = content
        elif key in _DATE_NAMES and "date" not in fields:
            fields["date"] = content
    return fields


def _deeper_than(markup: str, limit: int) -> bool:
    if markup.count("<") <= limit:
        return False  # too few tags to nest that deep: most pages, not scanned
    depth = 0
    for match in _TAG.finditer(markup):
        closing, name, self_closing = match.groups()
        if self_closing or name.lower() in _FLAT:
            continue
        depth += -1 if closing else 1
        if depth > limit:
            return True
    return False


def _without_parser(markup: str) -> str:
    text = _INVISIBLE.sub(" ", markup)
    text = _BLOCK_TAG.sub(_PARAGRAPH, text)
    text = html.unescape(_ANY_TAG.sub(" ", text))
    text = _AROUND_BREAKS.sub(r"\1", _SPACES.sub(" ", text))
    return tidy(text.replace(_PARAGRAPH, "\n"))
