"""The archive's data for the web, built once for the JSON API (/api/v1/archive) and the pages
(/archive, /archive/doc/ID and their .json twins): search with facets, one document, entities,
requests, and what names a target. On archive/views.py and listing.py, the functions behind
`censorwatch archive search|show|entities`, so the web and the CLI answer alike.

Every function takes the request's cursor and the app's ArchiveAccess, which says whether private
collections are served. In public mode they are not (a private document is "not found", exactly
as one that does not exist), and private persons' e-mail addresses and phone numbers are masked
(views.py). A query for such an address is refused in public mode: the index holds it, and
finding which documents contain an address would tell what the masking hides."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PureWindowsPath
from typing import Any

import duckdb

from censorwatch.archive import listing, views
from censorwatch.archive.index import QueryError
from censorwatch.archive.masking import is_private_contact, mask_text
from censorwatch.archive.model import ENTITY_TYPES
from censorwatch.web.archive_access import ArchiveAccess, IndexUnavailable
from censorwatch.web.archive_targets import naming
from censorwatch.web.filters import parse_day
from censorwatch.web.memo import memoized
from censorwatch.web.queries import BadQuery
from censorwatch.web.render import NotFound

PAGE = 20
MAX_LIMIT = 100
NO_ARCHIVE = "No documents in this store yet: add some with `censorwatch archive add PATH...`."
NO_INDEX = "The archive has no search index yet: build it with `censorwatch archive reindex`."


@dataclass(frozen=True)
class SearchParams:
    q: str = ""
    lang: str | None = None
    collection: str | None = None
    since: str | None = None
    until: str | None = None
    entity: str | None = None
    limit: int = PAGE
    offset: int = 0

    def as_params(self) -> dict[str, str]:
        """The filters given, as a page's links repeat them."""
        values = {"q": self.q, "lang": self.lang, "collection": self.collection, "since": self.since,
                  "until": self.until, "entity": self.entity}
        return {key: value for key, value in values.items() if value}


def _refuse_contacts(params: SearchParams) -> None:
    if mask_text(params.q) != params.q:
        raise BadQuery("searching for a private person's e-mail address or phone number is not possible here: "
                       "they are masked in this archive's public view")
    kind, _, value = (params.entity or "").partition(":")
    if is_private_contact(kind, value.strip()):
        raise BadQuery(f"documents naming a private {kind} are not listed in this archive's public view")


def search(access: ArchiveAccess, cur: duckdb.DuckDBPyConnection, params: SearchParams) -> dict[str, Any]:
    """{"query", "filters", "total", "hits" (as `archive search --format json`, with `highlights`),
    "facets" (collection, language, year: [{"value", "count"}] over every match), "limit",
    "offset", "notice" (why nothing can be searched, else null)}."""
    if not 1 <= params.limit <= MAX_LIMIT or params.offset < 0:
        raise BadQuery(f"limit must be 1 to {MAX_LIMIT} and offset at least 0")
    since, until = parse_day(params.since, "since"), parse_day(params.until, "until")
    if not access.private:
        _refuse_contacts(params)
    data: dict[str, Any] = {"query": params.q, "filters": params.as_params(), "total": 0, "hits": [],
                            "facets": {facet: [] for facet in views.FACETS}, "limit": params.limit,
                            "offset": params.offset, "notice": None}
    reader = access.reader(cur)
    try:
        index = access.index() if reader.exists else None
    except IndexUnavailable as error:
        return {**data, "notice": str(error)}
    if index is None:
        return {**data, "notice": NO_INDEX if reader.exists else NO_ARCHIVE}
    filters: dict[str, Any] = {"language": params.lang or None, "collection": params.collection or None,
                               "since": since, "until": until, "entity": params.entity or None,
                               "include_private": access.private}
    try:
        found = views.search(reader, index, params.q, **filters, limit=params.limit, offset=params.offset,
                             highlights=True)
        if found["total"]:
            values = memoized(f"archive.facet_values.{access.private}",
                              lambda: views.facet_values(reader, access.private))
            data["facets"] = views.facets(index, params.q, values, **filters)
    except QueryError as error:
        raise BadQuery(f"cannot search for {params.q!r}: {error}") from error
    return {**data, **found}


def original_url(doc_id: str) -> str:
    return f"/api/v1/archive/documents/{doc_id}/original"


def resolve(access: ArchiveAccess, cur: duckdb.DuckDBPyConnection,
            reference: str) -> tuple[views.ArchiveReader, str]:
    """The reader and the doc_id `reference` names among the documents shown; NotFound otherwise."""
    reader = access.reader(cur)
    if not reader.exists:
        raise NotFound(NO_ARCHIVE)
    try:
        doc_id = views.resolve(reader, reference, access.private)
    except views.PrivateDocument as error:
        # Said exactly as for a document that does not exist: a public view does not confirm it.
        raise NotFound(f"no document {reference.strip()!r} in the archive") from error
    except views.DocumentNotFound as error:
        raise NotFound(str(error) if access.private else mask_text(str(error))) from error
    return reader, doc_id


def document(access: ArchiveAccess, cur: duckdb.DuckDBPyConnection, reference: str,
             text: bool = False) -> dict[str, Any]:
    """As `archive show --format json` (with `--text`: `pages`), but `original` (a path on the
    server) gives way to `original_url`, where the bytes are served, and a public view gives each
    `original_path` as its file name: the directories of the disk the operator added it from
    (a user name, a source's name) are not published."""
    reader, doc_id = resolve(access, cur, reference)
    shown = views.show(reader, doc_id, include_private=access.private, text=text)
    shown.pop("original", None)
    shown["original_url"] = original_url(shown["doc_id"])
    if not access.private:
        for place in (shown, *shown["locations"]):
            place["original_path"] = _file_name(place["original_path"])
    return shown


def _file_name(path: str | None) -> str | None:
    # Windows rules split on either separator: a path added on Windows keeps its backslashes.
    return PureWindowsPath(path).name if path else path


def original(access: ArchiveAccess, cur: duckdb.DuckDBPyConnection, reference: str) -> tuple[str, str, str | None]:
    """(doc_id, sha256, name as shown) of the document whose original is asked for."""
    _, doc_id = resolve(access, cur, reference)
    rows = cur.execute("SELECT sha256, name FROM archive_documents WHERE doc_id = ?", [doc_id]).fetchall()
    sha256, name = rows[0]
    return doc_id, str(sha256), name if access.private or not name else mask_text(name)


def entities(access: ArchiveAccess, cur: duckdb.DuckDBPyConnection, kind: str | None, collection: str | None,
             limit: int) -> dict[str, Any]:
    """{"entities": [{type, value, documents}], "hidden": private contacts left out}."""
    if kind and kind not in ENTITY_TYPES:
        raise BadQuery(f"type must be one of {', '.join(ENTITY_TYPES)}, not {kind!r}")
    reader = access.reader(cur)
    if not reader.exists:
        return {"entities": [], "hidden": 0}
    rows, hidden = listing.entities(reader, kind or None, collection or None, include_private=access.private,
                                    limit=limit)
    return {"entities": rows, "hidden": hidden}


def requests(access: ArchiveAccess, cur: duckdb.DuckDBPyConnection, requester: str | None,
             recipient: str | None) -> dict[str, Any]:
    """{"requests": [...]} as `archive request list --format json` lists them, oldest first."""
    reader = access.reader(cur)
    if not reader.exists:
        return {"requests": []}
    listed = reader.requests.listed(requester or None, recipient or None)
    return {"requests": [views.request_view(item, not access.private) for item in listed]}


def targets(access: ArchiveAccess, cur: duckdb.DuckDBPyConnection, target: str | None) -> dict[str, Any]:
    """Documents and requests naming a domain, URL or IP address (web/archive_targets.py)."""
    if not target or not target.strip():
        raise BadQuery("say which target: a domain like example.org, a full URL or an IP address (?t=...)")
    reader = access.reader(cur)
    return naming(reader, reader.exists, target, include_private=access.private)


def naming_target(access: ArchiveAccess, cur: duckdb.DuckDBPyConnection, target: str) -> dict[str, Any] | None:
    """The target page's section: as the API's `targets`, or None for text the archive cannot
    take for a domain, a URL or an address (the page still shows its measurements)."""
    try:
        return targets(access, cur, target)
    except BadQuery:
        return None
