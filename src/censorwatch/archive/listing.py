"""The archive as lists: entities with the number of documents naming each (`archive entities`),
and every document with its pages and entities as one JSON object (`archive export`). Both
stream from the store; public views leave private collections out and mask private contacts."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import groupby
from typing import Any

import duckdb
import orjson

from censorwatch.archive.masking import OFFICIAL, OfficialContacts, is_private_contact, mask_text, mask_value
from censorwatch.archive.views import ArchiveRows, iso

FETCH = 2000
_EXPORT_FIELDS = ("doc_id", "sha256", "parent_id", "collection", "source", "original_path", "name", "kind",
                  "title", "date", "language", "size", "status", "reason", "added_at", "metadata")
_MASKED = ("source", "original_path", "name", "title", "reason")


def _visible(include_private: bool, collection: str | None) -> tuple[str, list[Any]]:
    conditions, params = ["true"], []
    if not include_private:
        conditions.append("NOT coalesce(c.private, false)")
    if collection:
        conditions.append("d.collection = ?")
        params.append(collection)
    return " AND ".join(conditions), params


def entities(archive: ArchiveRows, kind: str | None = None, collection: str | None = None,
             include_private: bool = False, limit: int | None = None,
             official: OfficialContacts = OFFICIAL) -> tuple[list[dict[str, Any]], int]:
    """(rows of {type, value, documents}, most documents first; how many private contacts were
    left out). A public listing leaves private e-mail addresses and phone numbers out rather than
    listing them masked: a column of masks tells nothing and each still counts as a row."""
    where, params = _visible(include_private, collection)
    if kind:
        where += " AND e.type = ?"
        params.append(kind)
    cursor = archive.con.execute(
        "SELECT e.type, e.value, count(DISTINCT e.doc_id) AS documents FROM archive_entities e "
        "JOIN archive_documents d ON d.doc_id = e.doc_id LEFT JOIN archive_collections c ON c.name = d.collection "
        f"WHERE {where} GROUP BY e.type, e.value ORDER BY documents DESC, e.type, e.value", params
    )
    rows: list[dict[str, Any]] = []
    hidden = 0
    while batch := cursor.fetchmany(FETCH):
        for type_, value, documents in batch:
            if not include_private and is_private_contact(type_, value, official):
                hidden += 1
                continue
            if limit is None or len(rows) < limit:
                rows.append({"type": type_, "value": value, "documents": documents})
    return rows, hidden


def _stream(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> Iterator[tuple[Any, ...]]:
    cursor = con.cursor()  # one cursor per stream: three results are read side by side
    try:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(FETCH):
            yield from batch
    finally:
        cursor.close()


def export(archive: ArchiveRows, collection: str | None = None, include_private: bool = False,
           official: OfficialContacts = OFFICIAL) -> Iterator[dict[str, Any]]:
    """Every document shown, in doc_id order, with its pages and entities: three sorted streams
    merged on doc_id, so that memory holds one document at a time."""
    con = archive.con
    where, params = _visible(include_private, collection)
    joined = ("FROM archive_documents d LEFT JOIN archive_collections c ON c.name = d.collection "
              f"WHERE {where}")
    documents = _stream(con, f"SELECT {', '.join('d.' + f for f in _EXPORT_FIELDS)}, "
                             f"coalesce(c.private, false) {joined} ORDER BY d.doc_id", params)
    pages = groupby(_stream(con, f"SELECT p.doc_id, p.number, p.language, p.text FROM archive_pages p "
                                 f"WHERE p.doc_id IN (SELECT d.doc_id {joined}) ORDER BY p.doc_id, p.number",
                            params), key=lambda row: row[0])
    found = groupby(_stream(con, 'SELECT e.doc_id, e.page, e.type, e.value, e.text, e.start, e."end" '
                                 f"FROM archive_entities e WHERE e.doc_id IN (SELECT d.doc_id {joined}) "
                                 "ORDER BY e.doc_id, e.page, e.start", params), key=lambda row: row[0])
    next_pages, next_entities = next(pages, None), next(found, None)
    public = not include_private
    for row in documents:
        record = dict(zip((*_EXPORT_FIELDS, "private"), row, strict=True))
        doc_id = record["doc_id"]
        page_rows: list[tuple[Any, ...]] = []
        entity_rows: list[tuple[Any, ...]] = []
        if next_pages is not None and next_pages[0] == doc_id:
            page_rows = list(next_pages[1])
            next_pages = next(pages, None)
        if next_entities is not None and next_entities[0] == doc_id:
            entity_rows = list(next_entities[1])
            next_entities = next(found, None)
        yield _exported(record, page_rows, entity_rows, public, official)


def _exported(record: dict[str, Any], page_rows: list[tuple[Any, ...]], entity_rows: list[tuple[Any, ...]],
              public: bool, official: OfficialContacts) -> dict[str, Any]:
    metadata = orjson.loads(record["metadata"]) if record["metadata"] else {}
    spans: dict[int, list[tuple[int, int, str]]] = {}
    for _, page, kind, _, _, start, end in entity_rows:
        if kind in ("email", "phone"):
            spans.setdefault(page, []).append((start, end, kind))
    if public:
        for name in _MASKED:
            if record[name]:
                record[name] = mask_text(record[name], official)
        metadata = {k: mask_text(v, official) if isinstance(v, str) else v for k, v in metadata.items()}
    record = {key: iso(value) for key, value in record.items()}
    record["metadata"] = metadata
    record["pages"] = [
        {"number": number, "language": language,
         "text": mask_text(text, official, spans.get(number, ())) if public else text}
        for _, number, language, text in page_rows
    ]
    record["entities"] = [
        {"page": page, "type": kind, "value": mask_value(kind, value, official) if public else value,
         "text": mask_value(kind, text, official) if public and is_private_contact(kind, value, official)
         else text, "start": start, "end": end}
        for _, page, kind, value, text, start, end in entity_rows
    ]
    return record
