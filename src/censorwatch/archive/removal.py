"""`archive remove`: documents taken out of the archive for good, with all their descendants
(attachments, ZIP members, at any depth), from every table, from the full-text index and, when
no remaining document names the same bytes, from the originals on disk (docs/archive-store.md,
"Removing documents").

Three steps, in an order that a process killed between any two leaves repairable:

1. one transaction deletes the rows (documents, pages, entities, locations), drops the links of
   requests to the removed documents, and journals every removed (doc_id, sha256) in
   `archive_removed`;
2. the index deletes those doc_ids;
3. each journalled original that no remaining row names is deleted, the deletions are made
   durable, and only then the journal's rows go.

Rows are the truth, so they go first: once they are gone no view shows the document, and a
search hit whose row is missing is skipped (views.search). Steps 2 and 3 are idempotent and
driven by the journal alone, so the next writer (`archive remove`, `archive add`, `archive
reindex`) finishes what a killed run left (`finish_removals`), checking only the journalled
sha256s, never the whole originals directory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from censorwatch.archive.index import ArchiveIndex
from censorwatch.archive.session import Archive
from censorwatch.archive.store import in_chunks
from censorwatch.archive.views import DocumentNotFound, resolve
from censorwatch.store.transaction import transaction

_CHUNK = 1000


class UnknownDocuments(LookupError):
    """Some references name no document (or several): nothing was removed."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


@dataclass
class Finished:
    """What steps 2 and 3 did: index entries deleted, originals deleted and kept (shared)."""

    index_entries: int = 0
    deleted_blobs: list[str] = field(default_factory=list)
    kept_blobs: list[str] = field(default_factory=list)


@dataclass
class RemovalReport:
    removed: list[dict[str, Any]] = field(default_factory=list)  # doc_id, name, collection, parent_id, depth
    dropped_links: list[dict[str, str]] = field(default_factory=list)  # request_id, kind, reference
    deleted_blobs: list[str] = field(default_factory=list)
    kept_blobs: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "documents": len(self.removed), "blobs_deleted": len(self.deleted_blobs),
            "blobs_kept": len(self.kept_blobs), "request_links_dropped": len(self.dropped_links),
            "requests": sorted({link["request_id"] for link in self.dropped_links}),
            "removed": self.removed, "deleted_blobs": self.deleted_blobs, "kept_blobs": self.kept_blobs,
            "dropped_links": self.dropped_links,
        }


def resolve_all(archive: Archive, references: Sequence[str]) -> list[str]:
    """The doc_id each reference names (a doc_id, a unique prefix of one, or the sha256 of one
    document), private collections included. Every reference is checked before any is
    removed: UnknownDocuments names each that fails."""
    found: list[str] = []
    problems: list[str] = []
    for reference in references:
        try:
            doc_id = resolve(archive, reference, include_private=True)
        except DocumentNotFound as error:
            problems.append(str(error))
            continue
        if doc_id not in found:
            found.append(doc_id)
    if problems:
        raise UnknownDocuments(problems)
    return found


def remove_documents(archive: Archive, index: ArchiveIndex, doc_ids: Sequence[str]) -> RemovalReport:
    """Removes the documents (doc_ids as resolve_all gives them) and their descendants (steps 1
    to 3); also finishes any removal a killed run left."""
    report = commit_removal(archive, doc_ids)
    finished = finish_removals(archive, index)
    report.deleted_blobs, report.kept_blobs = finished.deleted_blobs, finished.kept_blobs
    return report


def commit_removal(archive: Archive, doc_ids: Sequence[str]) -> RemovalReport:
    """Step 1: the rows of `doc_ids` and their descendants, and the request links to them, in one
    transaction that also journals them."""
    report = RemovalReport()
    if not doc_ids:
        return report
    con = archive.con
    documents = archive.documents
    with transaction(con):
        tree = documents.tree(doc_ids)
        sha256s: set[str] = set()
        for chunk in in_chunks(tree):
            cursor = con.execute(
                "SELECT doc_id, name, collection, parent_id, depth, sha256 FROM archive_documents "
                "WHERE list_contains(?, doc_id)", [chunk])
            for doc_id, name, collection, parent_id, depth, sha256 in cursor.fetchall():
                report.removed.append({"doc_id": doc_id, "name": name, "collection": collection,
                                       "parent_id": parent_id, "depth": depth})
                sha256s.add(sha256)
        documents.delete_documents(tree)
        report.dropped_links = archive.requests.drop_document_links(tree, sorted(sha256s))
    report.removed.sort(key=lambda row: (row["depth"], row["collection"], row["name"], row["doc_id"]))
    return report


def pending(archive: Archive) -> list[tuple[str, str]]:
    """The journal: (doc_id, sha256) of every removed document not yet finished."""
    rows = archive.con.execute("SELECT DISTINCT doc_id, sha256 FROM archive_removed ORDER BY doc_id").fetchall()
    return [(row[0], row[1]) for row in rows]


def delete_from_index(archive: Archive, index: ArchiveIndex) -> int:
    """Step 2: the journalled documents out of the index (one commit); returns how many."""
    doc_ids = [doc_id for doc_id, _ in pending(archive)]
    if doc_ids:
        index.delete(doc_ids)
    return len(doc_ids)


def delete_originals(archive: Archive) -> Finished:
    """Step 3: every journalled original that no remaining document names is deleted; the
    deletions are synced, then the journal emptied of what was done."""
    journal = pending(archive)
    finished = Finished()
    if not journal:
        return finished
    candidates = sorted({sha256 for _, sha256 in journal})
    held: set[str] = set()
    for chunk in in_chunks(candidates):
        rows = archive.con.execute(
            "SELECT DISTINCT sha256 FROM archive_documents WHERE list_contains(?, sha256)", [chunk]).fetchall()
        held.update(row[0] for row in rows)
    finished.kept_blobs = [sha256 for sha256 in candidates if sha256 in held]
    # One already gone was deleted by a run killed before it could empty the journal.
    finished.deleted_blobs = archive.originals.delete(sha256 for sha256 in candidates if sha256 not in held)
    # Only the journal rows read above: the journal is this process's alone (DuckDB's file lock
    # keeps other writers out), but a row added since would name bytes not yet checked.
    for chunk in in_chunks([doc_id for doc_id, _ in journal]):
        archive.con.execute("DELETE FROM archive_removed WHERE list_contains(?, doc_id)", [chunk])
    return finished


def finish_removals(archive: Archive, index: ArchiveIndex) -> Finished:
    """Steps 2 and 3 for every journalled removal: this run's, or one a killed run left."""
    entries = delete_from_index(archive, index)
    finished = delete_originals(archive)
    finished.index_entries = entries
    return finished
