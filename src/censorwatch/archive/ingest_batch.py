"""Rows on their way to the store and the index, in batches: one transaction per batch, then
the index, then the rows' `indexed` flags (the order that lets a killed run lose nothing:
archive/ingest.py). A batch is written when it holds `documents` documents or `characters` of
text, so that memory stays bounded however large the files. Documents dropped from a tree
extracted again (`add --retry`) are deleted in the batch's transaction and then, like removed
ones, taken out of the index and the originals (removal.py)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from types import TracebackType

from censorwatch.archive.index import ArchiveIndex, IndexedDocument
from censorwatch.archive.language import UNDETERMINED
from censorwatch.archive.removal import finish_removals
from censorwatch.archive.session import Archive
from censorwatch.archive.store import DocumentRecord, Location
from censorwatch.archive.sync import index_pending


@dataclass(frozen=True)
class BatchLimits:
    # 200 documents per commit: an index commit costs some tens of milliseconds, a DuckDB one a
    # few; fewer, larger batches would save little and lose more work to a kill.
    documents: int = 200
    characters: int = 32 << 20


def indexed_document(record: DocumentRecord, private: bool) -> IndexedDocument:
    return IndexedDocument(
        doc_id=record.doc_id, title=record.title or record.name, collection=record.collection,
        language=record.language or UNDETERMINED, date=record.date, private=private, parts=record.pages,
        entities=tuple(entity for _, entity in record.entities),
    )


class Batch:
    def __init__(self, archive: Archive, private: bool, limits: BatchLimits) -> None:
        self.archive = archive
        self.private = private
        self.limits = limits
        self.records: list[DocumentRecord] = []
        self.pending: set[str] = set()  # ids of the records not yet written
        self.locations: list[Location] = []
        self.dropped: list[str] = []  # documents to delete in the next transaction
        self.characters = 0
        self.indexed = 0
        self.index = ArchiveIndex(archive.index_directory, writable=True)

    def __enter__(self) -> Batch:
        self.index.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.index.__exit__(kind, value, tb)

    def repair(self) -> int:
        """Finishes a removal a killed run left, and indexes what an earlier run stored but did
        not index; returns how many it indexed."""
        finish_removals(self.archive, self.index)
        repaired = index_pending(self.archive.documents, self.index)
        self.indexed += repaired
        return repaired

    def locate(self, location: Location) -> None:
        self.locations.append(location)
        if len(self.locations) >= self.limits.documents * 10:
            self.flush()

    def add(self, record: DocumentRecord, location: Location | None) -> None:
        self.records.append(record)
        self.pending.add(record.doc_id)
        if location is not None:
            self.locations.append(location)
        self.characters += sum(len(page.text) for page in record.pages)
        if len(self.records) >= self.limits.documents or self.characters >= self.limits.characters:
            self.flush()

    def drop(self, doc_ids: Iterable[str]) -> None:
        """Deletes these documents in the transaction that writes the records queued next: never
        flushed on its own, so the tree's new top record and the deletion commit together."""
        self.dropped.extend(doc_ids)

    def flush(self) -> None:
        if not self.records and not self.locations and not self.dropped:
            return
        # Originals first: a row never names bytes that a crash could lose.
        self.archive.originals.commit()
        self.archive.documents.write(self.records, self.locations, self.dropped)
        if self.records:
            self.index.add([indexed_document(record, self.private) for record in self.records])
            self.archive.documents.mark_indexed([record.doc_id for record in self.records])
            self.indexed += len(self.records)
        if self.dropped:
            finish_removals(self.archive, self.index)
        self.records, self.locations, self.dropped, self.characters = [], [], [], 0
        self.pending.clear()
