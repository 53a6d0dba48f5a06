"""DOCX (Office Open XML) to text: paragraphs and tables of the body, then headers, footers,
footnotes, endnotes and comments; title and creation time from the core properties.

Read with zipfile and expat rather than python-docx, which reads every part (images included)
into memory whatever its size and has no way to bound that. Parts are read by bounded_zip, and
expat refuses any DTD, so there are no entities to expand (billion laughs) or to fetch (XXE):
Office never writes a DTD into a package."""

from __future__ import annotations

import re
import xml.parsers.expat
import zipfile

from ..model import Extracted, ExtractionFailed, TextPart
from .bounded_zip import open_archive, read_named
from .dates import parse_date
from .limits import MAX_DOCX_PART
from .normalise import TextBudget, tidy

_MAIN = "word/document.xml"
_CORE = "docProps/core.xml"
_NOTES = re.compile(r"word/(header|footer)\d*\.xml|word/(footnotes|endnotes|comments)\.xml")
_RELATIONSHIPS = "_rels/.rels"
_OFFICE_DOCUMENT = re.compile(
    r'Type="[^"]*/officeDocument"[^>]*Target="/?([^"]+)"|Target="/?([^"]+)"[^>]*Type="[^"]*/officeDocument"'
)


class _Forbidden(Exception):
    pass


def extract_docx(data: bytes) -> Extracted:
    archive = open_archive(data)
    main = _main_part(data, archive)
    body = read_named(data, archive, main, MAX_DOCX_PART)
    if body is None:
        raise ExtractionFailed(f"DOCX without its main part {main}")
    budget = TextBudget()
    parts = [TextPart(1, budget.take(tidy(_document_text(body))))]
    notes = []
    for name in sorted(archive.namelist()):
        if _NOTES.fullmatch(name):
            content = read_named(data, archive, name, MAX_DOCX_PART)
            if content:
                notes.append(_document_text(content))
    notes_text = tidy("\n\n".join(note for note in notes if note.strip()))
    if notes_text:
        parts.append(TextPart(2, budget.take(notes_text)))
    core = read_named(data, archive, _CORE, MAX_DOCX_PART)
    properties = _core_properties(core) if core else {}
    title = properties.pop("title", "") or None
    created = parse_date(properties.pop("created", ""))
    return Extracted(kind="docx", title=title, date=created, parts=tuple(parts), metadata=budget.note(properties))


def _main_part(data: bytes, archive: zipfile.ZipFile) -> str:
    """Word's main part is word/document.xml, unless the package relationships say otherwise."""
    names = archive.namelist()
    if _MAIN in names or _RELATIONSHIPS not in names:
        return _MAIN
    relationships = read_named(data, archive, _RELATIONSHIPS, MAX_DOCX_PART) or b""
    match = _OFFICE_DOCUMENT.search(relationships.decode("utf-8", "replace"))
    return (match.group(1) or match.group(2)) if match else _MAIN


def _parser() -> xml.parsers.expat.XMLParserType:
    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")

    def forbid(*_: object) -> None:
        raise _Forbidden

    parser.StartDoctypeDeclHandler = forbid
    parser.EntityDeclHandler = forbid
    parser.ExternalEntityRefHandler = forbid  # type: ignore[assignment]
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    return parser


def _parse(parser: xml.parsers.expat.XMLParserType, content: bytes) -> None:
    try:
        parser.Parse(content, True)
    except _Forbidden:
        raise ExtractionFailed("DOCX part with a DTD (entities are refused)") from None
    except xml.parsers.expat.ExpatError as error:
        raise ExtractionFailed(f"DOCX part is not well-formed XML: {error}") from None


def _document_text(content: bytes) -> str:
    """Text of a WordprocessingML part: cells separated by tabs, rows and paragraphs by lines.
    Deleted text and field codes are not text; mc:Fallback repeats its mc:Choice."""
    out: list[str] = []
    cell_depth = 0
    fallback_depth = 0
    in_text = False
    parser = _parser()

    def start(name: str, _: dict[str, str]) -> None:
        nonlocal in_text, cell_depth, fallback_depth
        local = name.rpartition(" ")[2]
        if fallback_depth or local == "Fallback":
            fallback_depth += 1
        elif local == "t":
            in_text = True
        elif local == "tab":
            out.append("\t")
        elif local in ("br", "cr"):
            out.append("\n")
        elif local == "noBreakHyphen":
            out.append("\u2011")
        elif local == "tc":
            cell_depth += 1

    def end(name: str) -> None:
        nonlocal in_text, cell_depth, fallback_depth
        local = name.rpartition(" ")[2]
        if fallback_depth:
            fallback_depth -= 1
        elif local == "t":
            in_text = False
        elif local == "p":
            out.append(" " if cell_depth else "\n")
        elif local == "tc":
            cell_depth -= 1
            if out and out[-1] == " ":
                out.pop()  # the end of the cell's last paragraph
            out.append("\t")
        elif local == "tr":
            out.append("\n")

    def characters(text: str) -> None:
        if in_text and not fallback_depth:
            out.append(text)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    parser.buffer_text = True
    _parse(parser, content)
    return "".join(out)


def _core_properties(content: bytes) -> dict[str, str]:
    """dc:title, dc:creator, dc:subject, dcterms:created... by local name."""
    wanted = {"title": "title", "creator": "author", "subject": "subject", "description": "description",
              "keywords": "keywords", "created": "created", "modified": "modified", "lastModifiedBy": "modified_by"}
    found: dict[str, str] = {}
    current: list[str | None] = [None]
    parser = _parser()

    def start(name: str, _: dict[str, str]) -> None:
        current[0] = wanted.get(name.rpartition(" ")[2])

    def end(_: str) -> None:
        current[0] = None

    def characters(text: str) -> None:
        key = current[0]
        if key is not None:
            found[key] = found.get(key, "") + text

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    try:
        _parse(parser, content)
    except ExtractionFailed:
        return {}  # the body is what matters; broken properties are only lost properties
    return {key: value.strip() for key, value in found.items() if value.strip()}
