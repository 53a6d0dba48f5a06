"""The archive's rows in the censorwatch store: collections, documents with their pages and
entities, and where each was found (tables in archive/schema.py; docs/archive-store.md).

Identity: a file added to a collection is the document
`document_id(collection, sha256)`, so adding the same bytes again, from any path, is found to be
there already (its path is recorded as one more location) and the same bytes in two collections
are two documents sharing one original. A child (a ZIP member, an attachment) is
`child_id(parent, position, name, sha256)`: the same attachment in two e-mails is two documents,
each with its own parent, again sharing one original.

A top-level document is written together with all its descendants in one transaction, so a
document the store holds is always whole: a run killed before the commit left nothing of it, and
the next run adds it from the start.

Removing (removal.py) deletes a document's rows with all its descendants' in one transaction and
journals each in `archive_removed`, whose rows say which index entries and originals are still
to be dealt with once that transaction has committed."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb
import orjson
import pyarrow as pa

from censorwatch.archive.language import UNDETERMINED
from censorwatch.archive.model import Entity, TextPart
from censorwatch.archive.schema import DOCUMENT_COLUMNS, ensure_archive_schema
from censorwatch.store.transaction import transaction

_ID_LENGTH = 20  # hex digits: 80 bits, no collision to fear at any archive's size
_IN_CHUNK = 1000
# The tables holding rows per document; the documents' own rows last, as the others name them.
_PER_DOCUMENT = ("archive_pages", "archive_entities", "archive_locations", "archive_documents")


def document_id(collection: str, sha256: str) -> str:
    return _digest("document", collection, sha256)


def child_id(parent_id: str, position: int, name: str, sha256: str) -> str:
    return _digest("child", parent_id, str(position), name, sha256)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:_ID_LENGTH]


def utc_naive(moment: datetime | None) -> datetime | None:
    """As DuckDB's TIMESTAMP holds it: UTC without a zone (a naive time is taken as UTC)."""
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class CollectionError(ValueError):
    """A collection asked for in a way that contradicts how it was created."""


@dataclass(frozen=True)
class Collection:
    name: str
    private: bool
    description: str | None
    created: datetime


@dataclass(frozen=True)
class Location:
    """One place a document was found: the source given and the path it had there."""

    doc_id: str
    source: str | None
    original_path: str | None
    added_at: datetime


@dataclass(frozen=True)
class DocumentRecord:
    """One document as it is written: its row, its pages and its entities (page number, entity)."""

    doc_id: str
    sha256: str
    parent_id: str | None
    collection: str
    source: str | None
    original_path: str | None
    name: str
    kind: str | None
    title: str | None
    date: datetime | None
    language: str | None
    size: int
    status: str
    reason: str | None
    added_at: datetime
    depth: int
    position: int | None
    metadata: dict[str, str] = field(default_factory=dict)
    pages: tuple[TextPart, ...] = ()
    entities: tuple[tuple[int, Entity], ...] = ()

    def row(self) -> dict[str, Any]:
        values = {name: getattr(self, name) for name in DOCUMENT_COLUMNS if name not in ("metadata", "indexed")}
        values["date"] = utc_naive(self.date)
        values["metadata"] = orjson.dumps(self.metadata).decode("utf-8") if self.metadata else None
        values["indexed"] = False
        return values


_DOCUMENT_SCHEMA = pa.schema([
    (name, pa.timestamp("us") if name in ("date", "added_at") else
     pa.int64() if name == "size" else pa.int32() if name in ("depth", "position") else
     pa.bool_() if name == "indexed" else pa.string())
    for name in DOCUMENT_COLUMNS
])
_PAGE_SCHEMA = pa.schema([("doc_id", pa.string()), ("number", pa.int32()), ("language", pa.string()),
                          ("text", pa.string())])
_ENTITY_SCHEMA = pa.schema([("doc_id", pa.string()), ("page", pa.int32()), ("type", pa.string()),
                            ("value", pa.string()), ("text", pa.string()), ("start", pa.int32()),
                            ("end", pa.int32())])
_LOCATION_SCHEMA = pa.schema([("doc_id", pa.string()), ("source", pa.string()), ("original_path", pa.string()),
                              ("added_at", pa.timestamp("us"))])


def _columns(rows: Sequence[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    return pa.Table.from_pydict({name: [row[name] for row in rows] for name in schema.names}, schema=schema)


class ArchiveStore:
    """The archive's tables on a store connection (store.Store(path).con). Made with
    writable=True, it creates the tables a store lacks."""

    def __init__(self, con: duckdb.DuckDBPyConnection, writable: bool = False) -> None:
        self.con = con
        if writable:
            ensure_archive_schema(con)

    # -- collections ------------------------------------------------------------------------------
    def collection(self, name: str) -> Collection | None:
        rows = self.con.execute(
            "SELECT name, private, description, created FROM archive_collections WHERE name = ?", [name]
        ).fetchall()
        return Collection(*rows[0]) if rows else None

    def collections(self) -> list[Collection]:
        rows = self.con.execute(
            "SELECT name, private, description, created FROM archive_collections ORDER BY name"
        ).fetchall()
        return [Collection(*row) for row in rows]

    def ensure_collection(self, name: str, private: bool, description: str | None = None) -> Collection:
        """The collection, created when new. Whether a collection is private is decided when it
        is created: asking for a public one as private would leave documents already served in
        public, so it is refused (adding to a private one without saying so keeps it private)."""
        if not name.strip():
            raise CollectionError("a collection needs a name")
        found = self.collection(name)
        if found is None:
            self.con.execute("INSERT OR IGNORE INTO archive_collections VALUES (?, ?, ?, ?)",
                             [name, private, description, now()])
            found = self.collection(name)
            assert found is not None
        elif private and not found.private:
            raise CollectionError(
                f"collection {name!r} was created public; its documents may have been served already. "
                "Put private documents in a new collection (--collection NAME --private)"
            )
        return found

    # -- documents --------------------------------------------------------------------------------
    def present(self, doc_ids: Iterable[str]) -> set[str]:
        found: set[str] = set()
        for chunk in in_chunks(list(doc_ids)):
            rows = self.con.execute(
                "SELECT doc_id FROM archive_documents WHERE list_contains(?, doc_id)", [chunk]
            ).fetchall()
            found.update(row[0] for row in rows)
        return found

    def tree(self, doc_ids: Sequence[str]) -> list[str]:
        """The documents `doc_ids` that the store holds and all their descendants, at any depth."""
        if not doc_ids:
            return []
        rows = self.con.execute(
            "WITH RECURSIVE tree(doc_id) AS (SELECT doc_id FROM archive_documents WHERE list_contains(?, doc_id) "
            "UNION SELECT d.doc_id FROM archive_documents d JOIN tree t ON d.parent_id = t.doc_id) "
            "SELECT doc_id FROM tree ORDER BY doc_id", [list(doc_ids)]
        ).fetchall()
        return [row[0] for row in rows]

    def to_retry(self, top_ids: Sequence[str]) -> list[dict[str, Any]]:
        """The documents under the top-level `top_ids` (themselves included) recorded as failed or
        needing OCR, each with `root` (its top-level document) and its parent's kind and date,
        parents before children. One below another such document is left out: extracting the
        upper one again redoes it."""
        if not top_ids:
            return []
        cursor = self.con.execute(
            "WITH RECURSIVE tree(doc_id, root, above, status) AS ("
            " SELECT doc_id, doc_id, false, status FROM archive_documents WHERE list_contains(?, doc_id)"
            " UNION ALL SELECT d.doc_id, t.root, t.above OR t.status <> 'ok', d.status"
            " FROM archive_documents d JOIN tree t ON d.parent_id = t.doc_id) "
            "SELECT d.doc_id, t.root, d.sha256, d.parent_id, d.name, d.source, d.original_path, d.depth, "
            "d.position, d.status, p.kind AS parent_kind, p.date AS parent_date "
            "FROM tree t JOIN archive_documents d ON d.doc_id = t.doc_id "
            "LEFT JOIN archive_documents p ON p.doc_id = d.parent_id "
            "WHERE t.status <> 'ok' AND NOT t.above ORDER BY t.root, d.depth, d.position", [list(top_ids)]
        )
        names = [column[0] for column in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def delete_documents(self, doc_ids: Sequence[str]) -> None:
        """Deletes the rows of `doc_ids` (not their descendants: give them all, see `tree`) and
        journals each in archive_removed. In the caller's transaction, which it must hold."""
        if not doc_ids:
            return
        self.con.register("removing_ids", pa.table({"doc_id": pa.array(list(doc_ids), pa.string())}))
        try:
            self.con.execute("INSERT INTO archive_removed SELECT doc_id, sha256, ? FROM archive_documents "
                             "WHERE doc_id IN (SELECT doc_id FROM removing_ids)", [now()])
            for table in _PER_DOCUMENT:
                self.con.execute(f"DELETE FROM {table} WHERE doc_id IN (SELECT doc_id FROM removing_ids)")
        finally:
            self.con.unregister("removing_ids")

    def write(self, records: Sequence[DocumentRecord], locations: Sequence[Location],
              dropped: Sequence[str] = ()) -> None:
        """Documents (with pages and entities) and locations in one transaction. A document stored
        already is written again in full (its pages and entities replaced), which is how a tree
        is redone; it is then marked unindexed. `dropped`: documents deleted in the same
        transaction (descendants a tree extracted again no longer has)."""
        if not records and not locations and not dropped:
            return
        docs = [record.row() for record in records]
        pages = [{"doc_id": r.doc_id, "number": p.number, "language": p.language, "text": p.text}
                 for r in records for p in r.pages]
        entities = [{"doc_id": r.doc_id, "page": page, "type": e.type, "value": e.value, "text": e.text,
                     "start": e.start, "end": e.end} for r in records for page, e in r.entities]
        places = [{"doc_id": p.doc_id, "source": p.source, "original_path": p.original_path,
                   "added_at": p.added_at} for p in locations]
        tables = {
            "incoming_documents": _columns(docs, _DOCUMENT_SCHEMA),
            "incoming_pages": _columns(pages, _PAGE_SCHEMA),
            "incoming_entities": _columns(entities, _ENTITY_SCHEMA),
            "incoming_locations": _columns(places, _LOCATION_SCHEMA),
        }
        for name, table in tables.items():
            self.con.register(name, table)
        try:
            with transaction(self.con):
                self.delete_documents(dropped)
                ids = [record.doc_id for record in records]
                if ids:
                    for table in ("archive_pages", "archive_entities"):
                        self.con.execute(f"DELETE FROM {table} WHERE list_contains(?, doc_id)", [ids])
                    columns = ", ".join(DOCUMENT_COLUMNS)
                    # sha256 and parent_id make the id, so they never change; DuckDB also refuses
                    # to assign indexed columns in ON CONFLICT.
                    updates = ", ".join(f"{name} = excluded.{name}" for name in DOCUMENT_COLUMNS
                                        if name not in ("doc_id", "sha256", "parent_id", "added_at"))
                    self.con.execute(f"INSERT INTO archive_documents ({columns}) SELECT {columns} "
                                     f"FROM incoming_documents ON CONFLICT (doc_id) DO UPDATE SET {updates}")
                    self.con.execute("INSERT INTO archive_pages SELECT * FROM incoming_pages")
                    self.con.execute('INSERT INTO archive_entities SELECT * FROM incoming_entities')
                if places:
                    # A place seen before (the same path added again) is not recorded twice.
                    self.con.execute(
                        "INSERT INTO archive_locations SELECT DISTINCT i.* FROM incoming_locations i "
                        "WHERE NOT EXISTS (SELECT 1 FROM archive_locations l WHERE l.doc_id = i.doc_id "
                        "AND l.source IS NOT DISTINCT FROM i.source "
                        "AND l.original_path IS NOT DISTINCT FROM i.original_path)"
                    )
        finally:
            for name in tables:
                self.con.unregister(name)

    def count(self) -> int:
        return int(self.con.execute("SELECT count(*) FROM archive_documents").fetchall()[0][0])

    # -- the index's bookkeeping --------------------------------------------------------------------
    def unindexed(self, limit: int) -> list[str]:
        rows = self.con.execute(
            "SELECT doc_id FROM archive_documents WHERE NOT indexed ORDER BY doc_id LIMIT ?", [limit]
        ).fetchall()
        return [row[0] for row in rows]

    def indexed_count(self) -> int:
        return int(self.con.execute("SELECT count(*) FROM archive_documents WHERE indexed").fetchall()[0][0])

    def mark_indexed(self, doc_ids: Sequence[str], indexed: bool = True) -> None:
        for chunk in in_chunks(list(doc_ids)):
            self.con.execute("UPDATE archive_documents SET indexed = ? WHERE list_contains(?, doc_id)",
                             [indexed, chunk])

    def mark_all_unindexed(self) -> None:
        self.con.execute("UPDATE archive_documents SET indexed = false WHERE indexed")

    def rows_for_index(self, doc_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Each document's row with its collection's privacy, its pages and its entities."""
        cursor = self.con.execute(
            "SELECT d.doc_id, d.title, d.name, d.collection, d.language, d.date, coalesce(c.private, false) "
            "FROM archive_documents d LEFT JOIN archive_collections c ON c.name = d.collection "
            "WHERE list_contains(?, d.doc_id) ORDER BY d.doc_id", [list(doc_ids)]
        )
        documents = {row[0]: {"doc_id": row[0], "title": row[1] or row[2], "collection": row[3],
                              "language": row[4] or UNDETERMINED,
                              "date": row[5], "private": bool(row[6]), "parts": [], "entities": []}
                     for row in cursor.fetchall()}
        for doc_id, number, language, text in self.con.execute(
            "SELECT doc_id, number, language, text FROM archive_pages WHERE list_contains(?, doc_id) "
            "ORDER BY doc_id, number", [list(doc_ids)]
        ).fetchall():
            documents[doc_id]["parts"].append(TextPart(number, text, language))
        for doc_id, type_, value, text, start, end in self.con.execute(
            'SELECT doc_id, type, value, text, start, "end" FROM archive_entities WHERE list_contains(?, doc_id) '
            "ORDER BY doc_id, page, start", [list(doc_ids)]
        ).fetchall():
            documents[doc_id]["entities"].append(Entity(type_, value, text, start, end))
        return [{**row, "parts": tuple(row["parts"]), "entities": tuple(row["entities"])}
                for row in documents.values()]


def in_chunks(values: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield values[start:start + _IN_CHUNK]
