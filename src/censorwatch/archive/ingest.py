"""`archive add`: files and directory trees into the archive, streaming, idempotent, and never
stopped by one bad file (docs/archive-store.md, "Adding" and "Crash safety").

Each regular file is read once (at most `max_file_size` bytes; a larger one is hashed and copied
in chunks, kept, and recorded as failed with why), hashed, and skipped when its collection holds
it already. A new file's bytes are kept as an original first; then it is extracted in a worker
process (a hostile file costs a worker, never the run), its children extracted in turn down to
`max_depth`, languages and entities found, and its rows queued.

Crash safety rests on two orders. A document's row is queued after all its descendants', so a
top-level row in the store means its whole tree is there: a run killed mid-tree finds the top
row missing and does the tree again, rewriting any descendants it had written (their ids are
derived, so nothing doubles). And the index is written after the rows commit, with each row's
`indexed` flag set only then: whatever a killed run left unindexed is indexed at the next start
(sync.index_pending).

With `retry`, a file the collection holds is not done with: each document of its tree recorded
as failed or needing OCR is extracted again (a child from its kept original) and rewritten in
place with its new descendants, its row again after theirs, so a killed retry leaves the old
failed row and the next retry redoes it. Descendants the new extraction no longer has are
deleted in the transaction that writes the new row."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from censorwatch.archive.add_report import AddReport
from censorwatch.archive.analysed import analysed
from censorwatch.archive.ingest_batch import Batch, BatchLimits
from censorwatch.archive.model import Child, Extracted, ExtractionFailed
from censorwatch.archive.originals import sha256_of, sha256_of_file
from censorwatch.archive.session import Archive
from censorwatch.archive.store import DocumentRecord, Location, child_id, document_id, now
from censorwatch.archive.walk import Found, Skipped, walk

MiB = 1 << 20
# The isolated extractor refuses a file larger than half a worker's memory (1 GiB), and holds up
# to twice as many files as it has workers: 256 MiB keeps that under a few GiB at the worst.
MAX_FILE_SIZE = 256 * MiB
MAX_DEPTH = 5
# A tree's descendants (a ZIP of ZIPs, a huge mbox): past this they are not added, and counted.
MAX_TREE_DOCUMENTS = 50_000
READ_AHEAD_FILES = 64
READ_AHEAD_BYTES = 64 * MiB


Outcome = Extracted | ExtractionFailed
Item = tuple[bytes, str]


class Extractor(Protocol):
    """What ingest needs of extract.isolated.IsolatedExtractor (tests may pass another)."""

    def extract(self, data: bytes, name: str) -> Extracted: ...

    def map(self, items: Iterable[Item]) -> Iterator[tuple[Item, Outcome]]: ...


def extract_one(extractor: Extractor, data: bytes, name: str) -> Outcome:
    try:
        return extractor.extract(data, name)
    except ExtractionFailed as failed:
        return failed


@dataclass(frozen=True)
class AddOptions:
    collection: str
    source: str | None = None
    private: bool = False
    max_file_size: int = MAX_FILE_SIZE
    max_depth: int = MAX_DEPTH
    limits: BatchLimits = field(default_factory=BatchLimits)
    retry: bool = False  # extract again the held documents recorded as failed or needing OCR


@dataclass(frozen=True)
class _Read:
    found: Found
    sha256: str
    data: bytes | None  # None: over the size cap


@dataclass
class _Pending:
    """A document on its way to the extractor: a new top-level file, or (retry) a held document
    of a file's tree, with where its row sits in the tree and the descendants it had."""

    found: Found
    sha256: str
    doc_id: str
    data: bytes
    name: str
    where: str
    source: str | None
    original_path: str | None
    parent_id: str | None = None
    position: int | None = None
    depth: int = 0
    retried: bool = False
    descendants: frozenset[str] = frozenset()
    sent: datetime | None = None  # the date of the message it is attached to (_sent)
    last_of_file: bool = True  # the file's progress advances when this one is done


def store_files(archive: Archive) -> list[Path]:
    """The store's own files, never added to it (a tree given may hold the store)."""
    return [archive.db, archive.db.with_name(archive.db.name + ".wal"), archive.index_directory.parent]


def add_paths(paths: Sequence[Path], archive: Archive, options: AddOptions, extractor: Extractor,
              on_file: Callable[[int], None] | None = None) -> AddReport:
    """Adds every file under `paths` to `options.collection`; returns what happened. Raises
    CollectionError when the collection's privacy contradicts the one asked."""
    started = time.monotonic()
    collection = archive.documents.ensure_collection(options.collection, options.private)
    report = AddReport()
    with Batch(archive, private=collection.private, limits=options.limits) as batch:
        report.repaired = batch.repair()
        adder = _Adder(archive, options, extractor, batch, report)
        found = walk(paths, exclude=store_files(archive))
        # map() answers in the order it was given: each answer is the oldest file waiting.
        for _, outcome in extractor.map(adder.jobs(found, on_file)):
            pending = adder.waiting.popleft()
            adder.finish(pending, outcome)
            if on_file is not None and pending.last_of_file:
                on_file(1)
        batch.flush()
        report.indexed = batch.indexed
    report.seconds = time.monotonic() - started
    return report


class _Adder:
    def __init__(self, archive: Archive, options: AddOptions, extractor: Extractor, batch: Batch,
                 report: AddReport) -> None:
        self.archive = archive
        self.options = options
        self.extractor = extractor
        self.batch = batch
        self.report = report
        # Top-level documents handed to the extractor and not yet queued: with the batch's
        # pending ones, what this run holds but the store does not yet (committed ones are asked
        # of the store, so that memory does not grow with the run).
        self.extracting: set[str] = set()
        self.tree_documents = 0  # documents of the current top-level file
        self.waiting: deque[_Pending] = deque()  # files handed to the extractor, in order
        # The document whose tree is being queued and the ids queued for it so far: a retried
        # one drops the descendants it had and no longer has.
        self.current: _Pending | None = None
        self.tree_ids: set[str] = set()
        self.retried_files: set[str] = set()  # top-level ids whose trees this run has retried
        self.source = options.source  # of the documents being queued: a retried tree keeps its own

    # -- top-level files ---------------------------------------------------------------------------
    def jobs(self, items: Iterator[Found | Skipped], on_file: Callable[[int], None] | None) -> Iterator[Item]:
        """The extraction jobs of the new files; files already held, too large or unreadable are
        settled here, without the extractor."""
        for chunk in self._read_ahead(items, on_file):
            held = self.archive.documents.present(document_id(self.options.collection, read.sha256)
                                                  for read in chunk)
            retry = self._to_retry(held)
            for read in chunk:
                doc_id = document_id(self.options.collection, read.sha256)
                if doc_id in held or doc_id in self.extracting or doc_id in self.batch.pending:
                    self.report.present += 1
                    self.batch.locate(Location(doc_id, self.options.source, str(read.found.path), now()))
                    # Once per run: the same bytes found again while being retried are present only.
                    again = [] if doc_id in self.retried_files else retry.pop(doc_id, [])
                    if again:
                        self.retried_files.add(doc_id)
                    if again and (jobs := self._retry_jobs(read, again)):
                        yield from jobs
                        continue
                elif read.data is None:
                    self._too_large(read.found, read.sha256, doc_id)
                else:
                    self.archive.originals.put(read.data, read.sha256)
                    self.extracting.add(doc_id)
                    path = str(read.found.path)
                    self.waiting.append(_Pending(read.found, read.sha256, doc_id, read.data, read.found.path.name,
                                                 path, self.options.source, path))
                    yield read.data, read.found.path.name
                    continue
                if on_file is not None:
                    on_file(1)

    def _to_retry(self, held: set[str]) -> dict[str, list[dict[str, Any]]]:
        """Per held top-level document, the documents of its tree to extract again (retry only)."""
        if not self.options.retry or not held:
            return {}
        found: dict[str, list[dict[str, Any]]] = {}
        for row in self.archive.documents.to_retry(sorted(held)):
            found.setdefault(row["root"], []).append(row)
        return found

    def _retry_jobs(self, read: _Read, rows: list[dict[str, Any]]) -> list[Item]:
        """Queues the documents of a held file's tree to extract again; returns their jobs (none:
        the file's progress is for the caller to advance)."""
        jobs: list[Item] = []
        path = str(read.found.path)
        for row in rows:
            top = row["parent_id"] is None
            where = path if top else f"{path} › {row['name']}"
            if top and read.data is None:
                # Still over the size cap: recorded again as failed, with the cap of this run.
                self.report.retried += 1
                self.source = row["source"]
                self._queue(self._record(row["doc_id"], read.sha256, row["name"], read.found.size, None, 0, None,
                                         row["original_path"], failed=self._too_large_reason()), where)
                continue
            try:
                data = read.data if top and read.data is not None else self.archive.originals.read(row["sha256"])
            except OSError as error:
                self.report.skip(where, f"cannot be extracted again: its original cannot be read: {error}")
                continue
            self.archive.originals.put(data, row["sha256"])  # a no-op unless the original was lost
            if top:
                self.extracting.add(row["doc_id"])
            descendants = frozenset(self.archive.documents.tree([row["doc_id"]])) - {row["doc_id"]}
            self.waiting.append(_Pending(
                read.found, row["sha256"], row["doc_id"], data, row["name"], where, row["source"],
                row["original_path"], row["parent_id"], row["position"], row["depth"], retried=True,
                descendants=descendants, last_of_file=False, sent=_sent(row["parent_kind"], row["parent_date"])))
            jobs.append((data, row["name"]))
        if jobs:
            self.waiting[-1].last_of_file = True
        return jobs

    def _read_ahead(self, items: Iterator[Found | Skipped],
                    on_file: Callable[[int], None] | None) -> Iterator[list[_Read]]:
        """Files read and hashed in chunks, so that one query asks which the store holds: a
        DuckDB query costs about a millisecond here, as much as reading a small file."""
        chunk: list[_Read] = []
        size = 0
        for item in items:
            if isinstance(item, Skipped):
                self.report.skip(str(item.path), item.reason)
                continue
            self.report.files += 1
            read = self._read(item)
            if read is None:
                if on_file is not None:
                    on_file(1)
                continue
            chunk.append(read)
            size += len(read.data or b"")
            if len(chunk) >= READ_AHEAD_FILES or size >= READ_AHEAD_BYTES:
                yield chunk
                chunk, size = [], 0
        if chunk:
            yield chunk

    def _read(self, found: Found) -> _Read | None:
        """The file's bytes and sha256; a file over the size cap only hashed (data None)."""
        path = found.path
        try:
            if found.size <= self.options.max_file_size:
                with path.open("rb") as handle:
                    data = handle.read(self.options.max_file_size + 1)
                if len(data) <= self.options.max_file_size:  # else it grew since it was listed
                    self.report.bytes_read += len(data)
                    return _Read(found, sha256_of(data), data)
            return _Read(found, sha256_of_file(path), None)
        except OSError as error:
            self.report.skip(str(path), f"cannot be read: {error.strerror or error}")
            return None

    def _too_large(self, found: Found, digest: str, doc_id: str) -> None:
        """Kept byte for byte (copied in chunks), recorded as failed, not extracted."""
        try:
            self.archive.originals.put_file(found.path, digest)
        except OSError as error:  # OriginalChanged among them
            self.report.skip(str(found.path), f"cannot be kept: {error}")
            return
        self.source = self.options.source
        self._queue(self._record(doc_id, digest, found.path.name, found.size, None, 0, None, str(found.path),
                                 failed=self._too_large_reason()), str(found.path))
        self.report.added += 1

    def _too_large_reason(self) -> str:
        return f"larger than {self.options.max_file_size // MiB} MiB: kept, not extracted"

    def finish(self, pending: _Pending, outcome: Outcome) -> None:
        """A document's extraction is back: add it (again) with its descendants."""
        self.tree_documents = 1
        self.current, self.tree_ids, self.source = pending, set(), pending.source
        status = self._tree(pending.data, pending.sha256, pending.doc_id, pending.name, pending.where, outcome,
                            parent=pending.parent_id, position=pending.position, depth=pending.depth,
                            original_path=pending.original_path, sent=pending.sent)
        self.current = None
        self.extracting.discard(pending.doc_id)
        if not pending.retried:
            self.report.added += 1
            return
        self.report.retried += 1
        if status == "ok":
            self.report.recovered += 1

    # -- one document and its descendants ------------------------------------------------------------
    def _tree(self, data: bytes, digest: str, doc_id: str, name: str, where: str, outcome: Outcome,
              parent: str | None, position: int | None, depth: int, original_path: str | None,
              sent: datetime | None = None) -> str:
        """Queues the document and its descendants (theirs first); returns its status. An
        attachment without a date of its own takes the day its message was `sent`."""
        if isinstance(outcome, ExtractionFailed):
            return self._queue(self._record(doc_id, digest, name, len(data), parent, depth, position, original_path,
                                            failed=outcome.reason), where)
        if outcome.date is None and sent is not None:
            outcome = replace(outcome, date=sent)
        for line in outcome.metadata.get("skipped", "").splitlines():
            # The extractor names each part it refused (a ZIP member "name: reason", a MIME part)
            # in the document's metadata; the report lists them beside the failed documents.
            self.report.part_failed(where, f"part not extracted: {line}")
        kept = self._children(outcome.children, doc_id, where, depth, _sent(outcome.kind, outcome.date))
        record = self._record(doc_id, digest, name, len(data), parent, depth, position, original_path,
                              extracted=outcome)
        if kept < len(outcome.children):
            record.metadata["children_not_added"] = str(len(outcome.children) - kept)
        return self._queue(record, where)

    def _children(self, children: tuple[Child, ...], parent: str, where: str, depth: int,
                  sent: datetime | None) -> int:
        """Adds each child (before its parent: see the module's docstring); returns how many."""
        for position, child in enumerate(children):
            inside = f"{where} › {child.name}"
            if self.tree_documents >= MAX_TREE_DOCUMENTS:
                self.report.skip(inside, f"past {MAX_TREE_DOCUMENTS} documents in one file: not added")
                return position
            digest = sha256_of(child.data)
            self.archive.originals.put(child.data, digest)
            identity = child_id(parent, position, child.name, digest)
            if depth + 1 > self.options.max_depth:
                outcome: Outcome = ExtractionFailed(
                    f"nested more than {self.options.max_depth} levels deep: kept, not extracted")
            else:
                outcome = extract_one(self.extractor, child.data, child.name)
            self._tree(child.data, digest, identity, child.name, inside, outcome, parent, position, depth + 1,
                       original_path=None, sent=sent)
            self.report.children += 1
            self.tree_documents += 1
        return len(children)

    def _record(self, doc_id: str, digest: str, name: str, size: int, parent: str | None, depth: int,
                position: int | None, original_path: str | None, *, failed: str | None = None,
                extracted: Extracted | None = None) -> DocumentRecord:
        options = self.options
        record = DocumentRecord(
            doc_id=doc_id, sha256=digest, parent_id=parent, collection=options.collection, source=self.source,
            original_path=original_path, name=name, kind=None, title=None, date=None, language=None, size=size,
            status="failed", reason=failed, added_at=now(), depth=depth, position=position,
        )
        if extracted is None:
            return record
        try:
            found = analysed(extracted)
        except Exception as error:  # hostile text that trips the analysis fails this document only
            return replace(record, kind=extracted.kind,
                           reason=f"could not analyse the text: {type(error).__name__}: {error}")
        return replace(
            record, kind=extracted.kind, title=extracted.title, date=extracted.date, language=found.language,
            status="needs_ocr" if extracted.needs_ocr else "ok",
            reason="pages without a text layer that no OCR read" if extracted.needs_ocr else None,
            metadata=found.metadata, pages=found.parts, entities=found.entities,
        )

    def _queue(self, record: DocumentRecord, where: str) -> str:
        """Hands the record to the batch; returns its status."""
        current = self.current
        if current is not None:
            self.tree_ids.add(record.doc_id)
            if record.doc_id == current.doc_id and current.descendants - self.tree_ids:
                # What the document had below it and no longer has goes in the transaction that
                # writes its new row (the batch never flushes between these two calls).
                self.batch.drop(sorted(current.descendants - self.tree_ids))
        if record.status == "failed":
            self.report.fail(where, record.reason or "failed")
        elif record.status == "needs_ocr":
            self.report.needs_ocr += 1
        location = None
        if record.parent_id is None:
            location = Location(record.doc_id, record.source, record.original_path, record.added_at)
        self.batch.add(record, location)
        return record.status


# Kinds whose children are attachments: a document attached without a date of its own (an RTF
# notice, whose info times are its template's) was at least sent on the message's day.
_MESSAGES = frozenset({"email", "msg"})


def _sent(kind: str | None, date: datetime | None) -> datetime | None:
    return date if kind in _MESSAGES else None
