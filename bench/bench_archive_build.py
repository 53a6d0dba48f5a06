"""Phase (b) of bench_archive.py, in its own interpreter: N generated documents through what
ingest runs on a document once its text is extracted, into one ArchiveIndex.

    .venv/bin/python bench/bench_archive_build.py --work DIR --documents N [--small M] [--workers W]

Worker processes (a spawn pool, as ingest's extractor workers are spawned) generate each document
(bench_archive_data.py) and run analysed.analysed() on it: languages (language.py) and entities
(entities.py), as extract_analysed does in ingest's workers. This process, as ingest's parent
does, makes IndexedDocuments (ingest_batch.indexed_document's fields) and calls ArchiveIndex.add
every --commit-every documents (200: BatchLimits.documents). No DuckDB rows: this phase measures
the index at scale; phase (a) measures the whole pipeline, rows included, on a subset.

The first --small documents are also kept (pickled) and, once the big index is closed, indexed
again into a second index on their own: the baseline index for phase (c), 10x smaller, and
ArchiveIndex.add's throughput with no analysis competing for the cores. Writes DIR/build.json."""

from __future__ import annotations

import argparse
import os
import pickle
import random
import resource
import sys
import time
from collections import Counter, deque
from collections.abc import Iterator
from multiprocessing import get_context
from multiprocessing.pool import AsyncResult
from pathlib import Path

import orjson

from bench_archive_data import Corpus, TreePeak, generate, load_corpus
from censorwatch.archive.analysed import analysed
from censorwatch.archive.index import ArchiveIndex, IndexedDocument
from censorwatch.archive.language import UNDETERMINED
from censorwatch.archive.model import Extracted, TextPart
from censorwatch.archive.originals import sha256_of
from censorwatch.archive.store import document_id

CHUNK = 100  # documents per task: large enough that pickling and queueing stay small
SAMPLED = ("record", "case", "domain", "ip", "decision", "url")
_SAMPLE_SIZE = 400
_corpus: Corpus | None = None
_seed = 1


def _init(seed: int) -> None:
    global _corpus, _seed
    _corpus, _seed = load_corpus(), seed


def _analyse(span: tuple[int, int]) -> tuple[list[IndexedDocument], float, float, int]:
    """Documents [start, end) as the index receives them, and the CPU seconds of generating
    and of analysing them (so that the report can leave the generator out)."""
    assert _corpus is not None
    documents: list[IndexedDocument] = []
    generating = analysing = 0.0
    characters = 0
    for number in range(*span):
        started = time.process_time()
        generated = generate(number, _corpus, _seed)
        middle = time.process_time()
        extracted = Extracted("text", generated.title, generated.date, (TextPart(1, generated.text),))
        found = analysed(extracted)
        doc_id = document_id(generated.collection, sha256_of(generated.text.encode("utf-8")))
        documents.append(IndexedDocument(
            doc_id=doc_id, title=generated.title or generated.name, collection=generated.collection,
            language=found.language or UNDETERMINED, date=generated.date.date() if generated.date else None,
            private=False, parts=found.parts, entities=tuple(entity for _, entity in found.entities),
        ))
        ended = time.process_time()
        generating += middle - started
        analysing += ended - middle
        characters += len(generated.text)
    return documents, generating, analysing, characters


def _spans(total: int) -> Iterator[tuple[int, int]]:
    for start in range(0, total, CHUNK):
        yield start, min(start + CHUNK, total)


def directory_size(directory: Path) -> int:
    return sum(path.stat().st_size for path in directory.rglob("*") if path.is_file())


class _Samples:
    """Identifiers named in the first documents, reservoir-sampled per entity type with the
    number of the document naming them: phase (c)'s identifier queries keep only those within
    the baseline index, so that they match in both indexes."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.kept: dict[str, list[tuple[str, int]]] = {kind: [] for kind in SAMPLED}
        self.seen: Counter[str] = Counter()

    def add(self, document: IndexedDocument, number: int) -> None:
        for kind, text in {(e.type, e.text) for e in document.entities if e.type in self.kept}:
            self.seen[kind] += 1
            kept = self.kept[kind]
            if len(kept) < _SAMPLE_SIZE:
                kept.append((text, number))
            else:
                slot = self.rng.randrange(self.seen[kind])
                if slot < _SAMPLE_SIZE:
                    kept[slot] = (text, number)

    def within(self, documents: int) -> dict[str, list[str]]:
        return {kind: [text for text, number in kept if number < documents] for kind, kept in self.kept.items()}


def _progress(done: int, total: int, started: float, adding: float) -> None:
    elapsed = time.perf_counter() - started
    rate = done / elapsed if elapsed else 0.0
    eta = (total - done) / rate if rate else 0.0
    print(f"build: {done:,}/{total:,} documents, {rate:.0f}/s, {elapsed / 60:.1f} min, "
          f"ETA {eta / 60:.1f} min, index.add {adding:.0f} s", file=sys.stderr, flush=True)


def build(work: Path, total: int, small: int, workers: int, seed: int, commit_every: int,
          deadline: float | None) -> dict[str, object]:
    """With a deadline (seconds), no new documents are taken after it: the index then holds
    fewer than `total`, and the baseline a tenth of what it holds."""
    started = time.perf_counter()
    cpu_started = time.process_time()
    memory = TreePeak(os.getpid())
    samples = _Samples(seed)
    languages: Counter[str] = Counter()
    entity_types: Counter[str] = Counter()
    stats = {"generating_cpu": 0.0, "analysing_cpu": 0.0, "characters": 0, "adding": 0.0}
    kept_path = work / "small.pickle"
    batch: list[IndexedDocument] = []
    done = 0
    with get_context("spawn").Pool(workers, initializer=_init, initargs=(seed,)) as pool, \
            ArchiveIndex(work / "index", writable=True) as index, kept_path.open("wb") as kept:

        def flush() -> None:
            adding = time.perf_counter()
            index.add(batch)
            stats["adding"] += time.perf_counter() - adding
            batch.clear()

        # A bounded window of tasks, in order: Pool.imap would queue every task at once and let
        # results pile up in memory whenever this process falls behind.
        window: deque[AsyncResult[tuple[list[IndexedDocument], float, float, int]]] = deque()
        spans = _spans(total)
        for span in spans:
            window.append(pool.apply_async(_analyse, (span,)))
            if len(window) >= 4 * workers:
                break
        while window:
            documents, generating, analysing, characters = window.popleft().get()
            late = deadline is not None and time.perf_counter() - started > deadline
            next_span = None if late else next(spans, None)
            if next_span is not None:
                window.append(pool.apply_async(_analyse, (next_span,)))
            stats["generating_cpu"] += generating
            stats["analysing_cpu"] += analysing
            stats["characters"] += characters
            for document in documents:
                languages[document.language] += 1
                entity_types.update(entity.type for entity in document.entities)
                if done < small:
                    samples.add(document, done)
                    pickle.dump(document, kept, protocol=pickle.HIGHEST_PROTOCOL)
                batch.append(document)
                done += 1
                if len(batch) >= commit_every:
                    flush()
                if done % 10_000 == 0:
                    _progress(done, total, started, stats["adding"])
        if batch:
            flush()
        closing = time.perf_counter()
    merging = time.perf_counter() - closing  # ArchiveIndex.close waits for tantivy's merges
    seconds = time.perf_counter() - started
    parent_cpu = time.process_time() - cpu_started
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    result: dict[str, object] = {
        "documents": done, "characters": stats["characters"], "seconds": seconds, "merge_wait_seconds": merging,
        "index_add_seconds": stats["adding"], "parent_cpu_seconds": parent_cpu,
        "workers_cpu_seconds": children.ru_utime + children.ru_stime,
        "peak_rss_tree_bytes": memory.stop(),
        "peak_rss_parent_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "generating_cpu_seconds": stats["generating_cpu"], "analysing_cpu_seconds": stats["analysing_cpu"],
        "index_bytes": directory_size(work / "index"), "workers": workers, "commit_every": commit_every,
        "languages": dict(languages.most_common()), "entities": dict(entity_types.most_common()),
        "requested": total, "stopped_at_deadline": done < total,
    }
    small = min(small, done * small // total)  # the same share of what was indexed
    result["samples"] = samples.within(small)
    result["small"] = build_small(work, kept_path, small, commit_every) if small else None
    return result


def _kept(path: Path) -> Iterator[IndexedDocument]:
    with path.open("rb") as handle:
        while True:
            try:
                yield pickle.load(handle)
            except EOFError:
                return


def build_small(work: Path, kept: Path, documents: int, commit_every: int) -> dict[str, object]:
    """The baseline index from the kept documents: ArchiveIndex.add alone, one process."""
    started = time.perf_counter()
    cpu_started = time.process_time()
    done = 0
    with ArchiveIndex(work / "index-small", writable=True) as index:
        batch: list[IndexedDocument] = []
        for number, document in enumerate(_kept(kept)):
            if number >= documents:
                break
            batch.append(document)
            if len(batch) >= commit_every:
                done += index.add(batch)
                batch = []
        if batch:
            done += index.add(batch)
    kept.unlink()
    return {"documents": done, "seconds": time.perf_counter() - started,
            "cpu_seconds": time.process_time() - cpu_started, "index_bytes": directory_size(work / "index-small")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--documents", type=int, required=True)
    parser.add_argument("--small", type=int, default=0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--commit-every", type=int, default=200)
    parser.add_argument("--minutes", type=float, default=None, help="take no new documents after this long")
    args = parser.parse_args()
    try:
        load_corpus()
    except FileNotFoundError as error:
        raise SystemExit(str(error)) from error
    result = build(args.work, args.documents, min(args.small, args.documents), args.workers, args.seed,
                   args.commit_every, args.minutes * 60 if args.minutes else None)
    (args.work / "build.json").write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
