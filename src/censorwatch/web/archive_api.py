"""The archive's JSON API (/api/v1/archive), on the same functions as its pages (archive_data.py).

An original is served as a download and never rendered: whatever its bytes (HTML, SVG, a PDF
with script), the browser gets application/octet-stream, an attachment, nosniff and a sandboxing
CSP, so it can neither run in our origin nor be sniffed into something that does."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

import duckdb
from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, Response

from censorwatch.web import archive_data
from censorwatch.web.archive_access import ArchiveAccess, archive_of
from censorwatch.web.archive_data import MAX_LIMIT, PAGE, SearchParams
from censorwatch.web.queries import BadQuery
from censorwatch.web.render import NotFound, json_response
from censorwatch.web.store_access import BUSY, StoreAccess, StoreUnavailable

router = APIRouter(prefix="/api/v1/archive", tags=["archive"])

Text = Annotated[str | None, Query()]
ORIGINAL_HEADERS = {"Content-Security-Policy": "sandbox; default-src 'none'", "X-Content-Type-Options": "nosniff"}
_UNSAFE = re.compile(r'[\\/:*?"<>|;%]')
MAX_NAME = 150


def _run(request: Request, work: Callable[[ArchiveAccess, duckdb.DuckDBPyConnection], Any]) -> Response:
    access: StoreAccess = request.app.state.access
    try:
        with access.cursor() as cur:
            result = work(archive_of(request), cur)
    except StoreUnavailable as error:
        return json_response({"error": error.message, "state": error.state}, 503 if error.state == BUSY else 404)
    except BadQuery as error:
        return json_response({"error": str(error)}, 400)
    except NotFound as error:
        return json_response({"error": str(error)}, 404)
    return result if isinstance(result, Response) else json_response(result)


@router.get("/search", summary="Full-text search of the archive's documents, with facets")
def search(
    request: Request,
    q: Annotated[str, Query(description='Words, "phrases", AND/OR/NOT, identifiers (451555-РИ); blank: all')] = "",
    lang: Annotated[str | None, Query(description="Documents with text in this language (ru, zh, en, ...)")] = None,
    collection: Text = None,
    since: Annotated[str | None, Query(description="Dated on or after YYYY-MM-DD")] = None,
    until: Annotated[str | None, Query(description="Dated on or before YYYY-MM-DD")] = None,
    entity: Annotated[str | None, Query(description="TYPE:VALUE, e.g. domain:pontorez.com or law:149-ФЗ")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = PAGE,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    params = SearchParams(q, lang, collection, since, until, entity, limit, offset)
    return _run(request, lambda access, cur: archive_data.search(access, cur, params))


@router.get("/documents/{doc_id}", summary="One document: metadata, provenance, entities, children, requests")
def document(
    request: Request, doc_id: str,
    text: Annotated[bool, Query(description="Add `pages`: the text page by page")] = False,
) -> Response:
    return _run(request, lambda access, cur: archive_data.document(access, cur, doc_id, text))


@router.get("/documents/{doc_id}/original", summary="The original file, byte for byte, as a download",
            response_class=Response, responses={200: {"content": {"application/octet-stream": {}}}})
def original(request: Request, doc_id: str) -> Response:
    def work(access: ArchiveAccess, cur: duckdb.DuckDBPyConnection) -> Response:
        found, sha256, name = archive_data.original(access, cur, doc_id)
        path = access.originals.path(sha256)
        if not path.is_file():
            raise NotFound(f"the original of {found} is not kept beside this store")
        headers = {**ORIGINAL_HEADERS, "Content-Disposition": content_disposition(safe_name(name, found))}
        return FileResponse(path, media_type="application/octet-stream", headers=headers)

    return _run(request, work)


def safe_name(name: str | None, doc_id: str) -> str:
    """The file's last path component with no control characters, no separators or characters
    Windows refuses, no leading dots, at most MAX_NAME characters; `document-ID` when nothing is
    left."""
    base = re.split(r"[\\/]", name or "")[-1]
    cleaned = "".join(ch for ch in base if not unicodedata.category(ch).startswith("C"))
    cleaned = _UNSAFE.sub("_", cleaned).strip(" .")
    return cleaned[:MAX_NAME] or f"document-{doc_id}"


def content_disposition(name: str) -> str:
    """RFC 6266: an attachment with an ASCII `filename` for old clients and the exact name as
    RFC 5987's `filename*`."""
    fallback = "".join(ch if 32 < ord(ch) < 127 else "_" for ch in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


@router.get("/entities", summary="Entities found in the documents, each with the number of documents naming it")
def entities(
    request: Request,
    type: Annotated[str | None, Query(description="url, domain, ip, email, phone, record, decision, case, law, "
                                                  "date or agency")] = None,
    collection: Text = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 100,
) -> Response:
    return _run(request, lambda access, cur: archive_data.entities(access, cur, type, collection, limit))


@router.get("/requests", summary="Requests: who asked whom to block what, with the documents that show it")
def requests(request: Request, requester: Text = None, recipient: Text = None) -> Response:
    return _run(request, lambda access, cur: archive_data.requests(access, cur, requester, recipient))


@router.get("/targets", summary="Documents and requests naming a domain, a URL or an IP address")
def targets(request: Request,
            t: Annotated[str, Query(description="A domain (example.org), a full URL or an IP address")]) -> Response:
    return _run(request, lambda access, cur: archive_data.targets(access, cur, t))
