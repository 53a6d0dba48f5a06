"""One document: metadata and provenance, the original to download, its requests, parent and
children, its entities by type (sites and addresses link to their target page, identifiers to the
documents naming them), and its text page by page with the entities marked and linked."""

from __future__ import annotations

from typing import Any

import duckdb
from fastapi import APIRouter, Request
from fastapi.responses import Response

from censorwatch.archive.masking import mask_value
from censorwatch.web import archive_data
from censorwatch.web.archive_access import ArchiveAccess, archive_of
from censorwatch.web.archive_text import grouped, segments
from censorwatch.web.pages.common import strip_json
from censorwatch.web.register import register
from censorwatch.web.render import page

router = APIRouter()

# Shown in this order when present; `metadata` (e-mail headers and the like) follows them.
FIELDS = ("doc_id", "name", "kind", "status", "reason", "date", "language", "size", "sha256", "collection",
          "private", "source", "original_path", "added_at")


def build(access: ArchiveAccess, cur: duckdb.DuckDBPyConnection, reference: str) -> dict[str, Any]:
    document = archive_data.document(access, cur, reference, text=True)
    rows = cur.execute('SELECT page, type, value, start, "end" FROM archive_entities WHERE doc_id = ? '
                       'ORDER BY page, start', [document["doc_id"]]).fetchall()
    public = not access.private
    # Every mention with its place, so the page can mark it in the text (offsets survive masking).
    document["mentions"] = [
        {"page": number, "type": kind, "value": mask_value(kind, value) if public else value, "start": start,
         "end": end}
        for number, kind, value, start, end in rows
    ]
    document["register_citing"] = _register_citing(cur, document["entities"])
    return document


# Entity types whose value can be the `decision` of register entries: courts' case numbers and
# prosecutors' decision numbers.
DECISION_TYPES = ("decision", "case")


def _register_citing(cur: duckdb.DuckDBPyConnection, entities: list[dict[str, Any]]) -> dict[str, int]:
    """For each decision or case number the document names, how many register entries it ordered
    (only numbers that ordered some): the page links them to the register page's list."""
    registry = register(cur)
    if registry is None:
        return {}
    counts = {}
    for entity in entities:
        if entity["type"] in DECISION_TYPES:
            found = len(registry.entries_citing(str(entity["value"])))
            if found:
                counts[str(entity["value"])] = found
    return counts


def decorate(data: dict[str, Any]) -> dict[str, Any]:
    by_page: dict[int, list[dict[str, Any]]] = {}
    for mention in data["mentions"]:
        by_page.setdefault(int(mention["page"]), []).append(mention)
    pages = [{**shown, "pieces": segments(shown["text"], by_page.get(int(shown["number"]), []))}
             for shown in data.get("pages", [])]
    fields = [(name, data[name]) for name in FIELDS if data.get(name) not in (None, "")]
    return {"title": data["title"] or data["name"] or data["doc_id"], "doc": data, "fields": fields,
            "groups": grouped(data["entities"]), "shown_pages": pages}


def _document(request: Request, reference: str) -> Response:
    name, as_json = strip_json(reference)
    access = archive_of(request)
    return page(request, "archive_doc.html", lambda cur: build(access, cur, name), as_json, decorate)


@router.get("/archive/doc/{doc_id}", include_in_schema=False)
def document_page(request: Request, doc_id: str) -> Response:
    return _document(request, doc_id)
