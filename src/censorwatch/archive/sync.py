"""Keeping the full-text index level with the store's rows: the rows are the truth, the index is
derived from them, and `indexed` flags say which rows it holds in their current state."""

from __future__ import annotations

from censorwatch.archive.index import ArchiveIndex, IndexedDocument
from censorwatch.archive.store import ArchiveStore

CHUNK = 200


def index_pending(documents: ArchiveStore, index: ArchiveIndex, chunk: int = CHUNK) -> int:
    """Indexes every row not flagged as indexed; returns how many. An index that holds fewer
    documents than the rows flagged (deleted, or copied without its store) is filled again from
    all rows: adding replaces a document of the same id, so nothing doubles."""
    if index.count() < documents.indexed_count():
        documents.mark_all_unindexed()
    done = 0
    while ids := documents.unindexed(chunk):
        index.add([IndexedDocument(**row) for row in documents.rows_for_index(ids)])
        documents.mark_indexed(ids)
        done += len(ids)
    return done


def rebuild(documents: ArchiveStore, index: ArchiveIndex) -> int:
    """The whole index again from the rows (`archive reindex`)."""
    documents.mark_all_unindexed()
    return index_pending(documents, index)
