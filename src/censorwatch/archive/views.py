"""What the CLI and the web explorer show of the archive, built once for both: search hits with
their documents' metadata, and one document with its provenance, entities, children and
requests. Public views (include_private=False) leave private collections out and mask private
persons' e-mail addresses and phone numbers in every text they show (archive/masking.py).

The views read through ArchiveRows: an Archive (session.py) opened by the CLI, or an
ArchiveReader on a connection someone else holds (the web explorer's pooled read-only cursor)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

import duckdb
import orjson

from censorwatch.archive.index import ArchiveIndex
from censorwatch.archive.masking import OFFICIAL, OfficialContacts, mask_text, mask_value
from censorwatch.archive.originals import Originals
from censorwatch.archive.request_store import RequestStore

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
MIN_PREFIX = 6
_DOCUMENT_FIELDS = ("doc_id", "sha256", "parent_id", "collection", "source", "original_path", "name", "kind",
                    "title", "date", "language", "size", "status", "reason", "added_at", "metadata")
_MASKED_FIELDS = ("original_path", "name", "title", "source", "reason")


class ArchiveRows(Protocol):
    """What the views read: the store's rows on a connection, the originals and the requests."""

    @property
    def con(self) -> duckdb.DuckDBPyConnection: ...

    @property
    def originals(self) -> Originals: ...

    @property
    def requests(self) -> RequestStore: ...


@dataclass(frozen=True)
class ArchiveReader:
    """The archive on a connection opened elsewhere, read-only; `exists` is False for a store
    without the archive's tables (which every view then treats as an empty archive)."""

    con: duckdb.DuckDBPyConnection
    originals: Originals
    requests: RequestStore
    exists: bool  # schema.has_archive(con)


class DocumentNotFound(LookupError):
    """No document answers to the id given, or only one of a private collection in a public view."""


class PrivateDocument(DocumentNotFound):
    """The document exists but only in a private collection, and the view is public."""


def iso(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _select_documents(where: str) -> str:
    columns = ", ".join(f"d.{name}" for name in _DOCUMENT_FIELDS)
    return (f"SELECT {columns}, coalesce(c.private, false) AS private FROM archive_documents d "
            f"LEFT JOIN archive_collections c ON c.name = d.collection WHERE {where}")


def _as_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    return dict(zip((*_DOCUMENT_FIELDS, "private"), row, strict=True))


def resolve(archive: ArchiveRows, reference: str, include_private: bool) -> str:
    """The doc_id that `reference` names: a doc_id, a unique prefix of one (at least MIN_PREFIX
    hex digits) or the sha256 of exactly one document shown. Raises DocumentNotFound saying why."""
    wanted = reference.strip().lower()
    visible = "" if include_private else " AND NOT coalesce(c.private, false)"
    if _SHA256.match(wanted):
        where = "d.sha256 = ?"
    elif len(wanted) >= MIN_PREFIX:
        where = "starts_with(d.doc_id, ?)"
    else:
        raise DocumentNotFound(f"{reference!r}: give a document id (or at least {MIN_PREFIX} of its first digits)")
    rows = archive.con.execute(_select_documents(where + visible) + " ORDER BY d.doc_id LIMIT 11",
                                     [wanted]).fetchall()
    if len(rows) == 1:
        return str(rows[0][0])
    if len(rows) > 1:
        exact = [row[0] for row in rows if row[0] == wanted]
        if exact:
            return str(exact[0])
        listed = ", ".join(f"{row[0]} ({row[6]} in {row[3]})" for row in rows[:10])
        raise DocumentNotFound(f"{reference!r} names several documents: {listed}")
    hidden = archive.con.execute(_select_documents(where) + " LIMIT 1", [wanted]).fetchall()
    if hidden:
        raise PrivateDocument(f"{reference!r} is in a private collection: add --private to see it")
    raise DocumentNotFound(f"no document {reference!r} in the archive")


def _masked_document(document: dict[str, Any], official: OfficialContacts) -> dict[str, Any]:
    masked = dict(document)
    for name in _MASKED_FIELDS:
        if isinstance(masked.get(name), str):
            masked[name] = mask_text(masked[name], official)
    return masked


def _metadata(text: str | None, public: bool, official: OfficialContacts) -> dict[str, Any]:
    values: dict[str, Any] = orjson.loads(text) if text else {}
    if public:
        values = {key: mask_text(value, official) if isinstance(value, str) else value
                  for key, value in values.items()}
    return values


def show(archive: ArchiveRows, reference: str, include_private: bool = False, text: bool = False,
         official: OfficialContacts = OFFICIAL) -> dict[str, Any]:
    """One document as `archive show` prints it (and the explorer's document page shows it)."""
    doc_id = resolve(archive, reference, include_private)
    con = archive.con
    document = _as_dict(con.execute(_select_documents("d.doc_id = ?"), [doc_id]).fetchall()[0])
    public = not include_private
    metadata = _metadata(document.pop("metadata"), public, official)
    if public:
        document = _masked_document(document, official)
    document = {key: iso(value) for key, value in document.items()}
    document["metadata"] = metadata
    document["original"] = str(archive.originals.path(document["sha256"]))
    document["locations"] = [
        {"source": mask_text(source, official) if public and source else source,
         "original_path": mask_text(path, official) if public and path else path, "added_at": iso(added)}
        for source, path, added in con.execute(
            "SELECT source, original_path, added_at FROM archive_locations WHERE doc_id = ? ORDER BY added_at, "
            "original_path", [doc_id]).fetchall()
    ]
    parent = con.execute("SELECT doc_id, name FROM archive_documents WHERE doc_id = ?",
                         [document["parent_id"]]).fetchall()
    document["parent"] = {"doc_id": parent[0][0], "name": _shown(parent[0][1], public, official)} if parent else None
    document["children"] = [
        {"doc_id": row[0], "name": _shown(row[1], public, official), "kind": row[2], "status": row[3],
         "size": row[4], "reason": row[5]}
        for row in con.execute(
            "SELECT doc_id, name, kind, status, size, reason FROM archive_documents WHERE parent_id = ? "
            "ORDER BY position", [doc_id]).fetchall()
    ]
    document["entities"] = _entities(archive, doc_id, public, official)
    document["requests"] = [request_view(item, public, official)
                            for item in archive.requests.for_document(doc_id, document["sha256"])]
    if text:
        document["pages"] = pages(archive, doc_id, public, official)
    return document


_MASKED_REQUEST_FIELDS = ("requester", "recipient", "legal_basis", "note")


def request_view(item: Mapping[str, Any], public: bool, official: OfficialContacts = OFFICIAL) -> dict[str, Any]:
    """A request as RequestStore gives it (`request`, `origin`), as a view shows it: requests are
    written by people, who may name a site owner by his address in a note."""
    shown: dict[str, Any] = {**item["request"].as_dict(), "origin": item["origin"]}
    if public:
        for name in _MASKED_REQUEST_FIELDS:
            shown[name] = _shown(shown[name], public, official)
    return shown


def _shown(value: str | None, public: bool, official: OfficialContacts) -> str | None:
    return mask_text(value, official) if public and value else value


def _entities(archive: ArchiveRows, doc_id: str, public: bool, official: OfficialContacts) -> list[dict[str, Any]]:
    rows = archive.con.execute(
        "SELECT type, value, count(*), list(DISTINCT page ORDER BY page) FROM archive_entities WHERE doc_id = ? "
        "GROUP BY type, value ORDER BY type, min(page), min(start)", [doc_id]
    ).fetchall()
    return [{"type": kind, "value": mask_value(kind, value, official) if public else value, "mentions": count,
             "pages": list(pages_)} for kind, value, count, pages_ in rows]


def pages(archive: ArchiveRows, doc_id: str, public: bool,
          official: OfficialContacts = OFFICIAL) -> list[dict[str, Any]]:
    """The text per page; public: masked, also where the entity finder saw a contact."""
    con = archive.con
    spans: dict[int, list[tuple[int, int, str]]] = {}
    if public:
        for page, start, end, kind in con.execute(
            "SELECT page, start, \"end\", type FROM archive_entities WHERE doc_id = ? AND type IN ('email', 'phone')",
            [doc_id]).fetchall():
            spans.setdefault(page, []).append((start, end, kind))
    return [
        {"number": number, "language": language,
         "text": mask_text(text, official, spans.get(number, ())) if public else text}
        for number, language, text in con.execute(
            "SELECT number, language, text FROM archive_pages WHERE doc_id = ? ORDER BY number", [doc_id]).fetchall()
    ]


def search(archive: ArchiveRows, index: ArchiveIndex, query: str, *, language: str | None = None,
           collection: str | None = None, since: date | None = None, until: date | None = None,
           entity: str | None = None, include_private: bool = False, limit: int = 20, offset: int = 0,
           official: OfficialContacts = OFFICIAL, highlights: bool = False) -> dict[str, Any]:
    """{"total", "hits": [{doc_id, title, collection, language, date, score, snippet, sha256, ...}]}:
    the index ranks, the store adds each hit's metadata. `highlights` adds each hit's matches as
    [start, end) character ranges in its snippet (masking keeps lengths, so they still fit)."""
    results = index.search(query, language=language, collection=collection, since=since, until=until,
                           entity=entity, include_private=include_private, limit=limit, offset=offset)
    ids = [hit.doc_id for hit in results.hits]
    rows = archive.con.execute(_select_documents("list_contains(?, d.doc_id)"), [ids]).fetchall()
    documents = {row[0]: _as_dict(row) for row in rows}
    hits = []
    for hit in results.hits:
        document = documents.get(hit.doc_id)
        if document is None or (document["private"] and not include_private):
            continue  # the index is ahead of a store restored from a copy: show only what the rows hold
        title = document["title"] or document["name"]
        snippet = hit.snippet
        if not include_private:
            title, snippet = mask_text(title, official), mask_text(snippet, official)
        hits.append({
            "doc_id": hit.doc_id, "title": title, "collection": document["collection"],
            "language": document["language"], "date": iso(document["date"]), "score": round(float(hit.score), 4),
            "snippet": snippet, "sha256": document["sha256"], "name": _shown(document["name"], not include_private,
                                                                              official),
            "kind": document["kind"], "status": document["status"], "parent_id": document["parent_id"],
        })
        if highlights:
            hits[-1]["highlights"] = [list(span) for span in hit.highlights]
    return {"total": results.total, "hits": hits}


FACETS = ("collection", "language", "year")
MAX_FACET_VALUES = 50


def facet_values(archive: ArchiveRows, include_private: bool = False) -> dict[str, list[str]]:
    """The values each facet takes among the documents shown: collections (the largest
    MAX_FACET_VALUES), languages of documents and of their parts (the index's language filter
    matches either) and the years of document dates, newest first."""
    visible = "" if include_private else " AND NOT coalesce(c.private, false)"
    joined = "archive_documents d LEFT JOIN archive_collections c ON c.name = d.collection"
    con = archive.con
    collections = con.execute(
        f"SELECT d.collection FROM {joined} WHERE true{visible} GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT ?",
        [MAX_FACET_VALUES]).fetchall()
    languages = con.execute(
        f"SELECT language FROM (SELECT d.language FROM {joined} WHERE true{visible} UNION "
        f"SELECT p.language FROM archive_pages p JOIN {joined} ON d.doc_id = p.doc_id WHERE true{visible}) "
        "WHERE language IS NOT NULL ORDER BY 1 LIMIT ?", [MAX_FACET_VALUES]).fetchall()
    years = con.execute(
        f"SELECT DISTINCT year(d.date) FROM {joined} WHERE d.date IS NOT NULL{visible} ORDER BY 1 DESC").fetchall()
    return {"collection": [row[0] for row in collections], "language": [row[0] for row in languages],
            "year": [str(row[0]) for row in years]}


def facets(index: ArchiveIndex, query: str, values: Mapping[str, Iterable[str]], *, language: str | None = None,
           collection: str | None = None, since: date | None = None, until: date | None = None,
           entity: str | None = None, include_private: bool = False) -> dict[str, list[dict[str, Any]]]:
    """How many documents of the whole result (not only the page shown) fall in each collection,
    language and year: {facet: [{"value", "count"}]}, most first (years newest first). Each count
    is the one the search would give with that value chosen instead (ArchiveIndex.facet_counts)."""
    counts = index.facet_counts(query, values, language=language, collection=collection, since=since,
                                until=until, entity=entity, include_private=include_private)
    shown: dict[str, list[dict[str, Any]]] = {}
    for facet, found in counts.items():
        if facet == "year":
            ordered = sorted(found.items(), reverse=True)
        else:
            ordered = sorted(found.items(), key=lambda item: (-item[1], item[0]))
        shown[facet] = [{"value": value, "count": count} for value, count in ordered]
    return shown
