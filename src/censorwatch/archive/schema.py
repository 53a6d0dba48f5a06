"""DDL of the archive's tables in the censorwatch store (how they are written: store.py, ingest.py).

A document is one row of `archive_documents`; its text is one row per page in `archive_pages`,
its mentions are rows of `archive_entities`, and every place it was found (source, path, when) is
a row of `archive_locations` (the document row repeats the first). `indexed` says whether the
full-text index holds the row's current state: the index is written after the rows commit, and a
run that was killed between the two finds the rows still unindexed and indexes them then.

`archive_removed` journals removals (removal.py) until their index entries and originals are gone.

Requests (docs/archive-requests.md) are `archive_requests` with their targets and documents in
link tables, one row per link, in the order they were given."""

from __future__ import annotations

import duckdb

ARCHIVE_SCHEMA_VERSION = "1"

DOCUMENT_COLUMNS = (
    "doc_id", "sha256", "parent_id", "collection", "source", "original_path", "name", "kind", "title", "date",
    "language", "size", "status", "reason", "added_at", "depth", "position", "metadata", "indexed",
)
STATUSES = ("ok", "failed", "needs_ocr")

ARCHIVE_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS schema_info (key VARCHAR PRIMARY KEY, value VARCHAR)",
    """CREATE TABLE IF NOT EXISTS archive_collections (
        name VARCHAR PRIMARY KEY, private BOOLEAN NOT NULL, description VARCHAR, created TIMESTAMP NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS archive_documents (
        doc_id VARCHAR PRIMARY KEY, sha256 VARCHAR NOT NULL, parent_id VARCHAR, collection VARCHAR NOT NULL,
        source VARCHAR, original_path VARCHAR, name VARCHAR NOT NULL, kind VARCHAR, title VARCHAR,
        date TIMESTAMP, language VARCHAR, size BIGINT NOT NULL, status VARCHAR NOT NULL, reason VARCHAR,
        added_at TIMESTAMP NOT NULL, depth INTEGER NOT NULL, position INTEGER, metadata VARCHAR,
        indexed BOOLEAN NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS archive_documents_sha256 ON archive_documents (sha256)",
    "CREATE INDEX IF NOT EXISTS archive_documents_parent ON archive_documents (parent_id)",
    """CREATE TABLE IF NOT EXISTS archive_pages (
        doc_id VARCHAR NOT NULL, number INTEGER NOT NULL, language VARCHAR, text VARCHAR NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS archive_entities (
        doc_id VARCHAR NOT NULL, page INTEGER NOT NULL, type VARCHAR NOT NULL, value VARCHAR NOT NULL,
        text VARCHAR NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL)""",
    # A target's page asks which documents name a domain, a URL or a register record.
    "CREATE INDEX IF NOT EXISTS archive_entities_value ON archive_entities (value)",
    """CREATE TABLE IF NOT EXISTS archive_locations (
        doc_id VARCHAR NOT NULL, source VARCHAR, original_path VARCHAR, added_at TIMESTAMP NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS archive_requests (
        request_id VARCHAR PRIMARY KEY, requester VARCHAR NOT NULL, recipient VARCHAR NOT NULL,
        date VARCHAR NOT NULL, legal_basis VARCHAR, action VARCHAR NOT NULL, outcome VARCHAR NOT NULL,
        outcome_date VARCHAR, note VARCHAR, origin VARCHAR, created_at TIMESTAMP NOT NULL,
        updated_at TIMESTAMP NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS archive_request_targets (
        request_id VARCHAR NOT NULL, position INTEGER NOT NULL, kind VARCHAR NOT NULL, target VARCHAR NOT NULL,
        value VARCHAR NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS archive_request_documents (
        request_id VARCHAR NOT NULL, position INTEGER NOT NULL, kind VARCHAR NOT NULL, reference VARCHAR NOT NULL)""",
    # One row per document removed whose index entry and original (when no other document names
    # its sha256) may still be on disk: written in the transaction that deletes the rows, cleared
    # when both are gone (removal.finish_removals).
    """CREATE TABLE IF NOT EXISTS archive_removed (
        doc_id VARCHAR NOT NULL, sha256 VARCHAR NOT NULL, removed_at TIMESTAMP NOT NULL)""",
    "INSERT OR IGNORE INTO schema_info VALUES ('archive_version', '" + ARCHIVE_SCHEMA_VERSION + "')",
)


def ensure_archive_schema(con: duckdb.DuckDBPyConnection) -> None:
    for statement in ARCHIVE_SCHEMA:
        con.execute(statement)


def has_archive(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the store holds the archive's tables (a read-only store may predate them)."""
    rows = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'archive_documents' "
        "AND table_schema = 'main'"
    ).fetchall()
    return bool(rows[0][0])
