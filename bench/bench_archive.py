"""The archive at scale (issue #22 item 7): documents/s ingested, index size, and query latency
p50/p95/p99 per query type against the target p99 < 100 ms (term, phrase, identifier).

    .venv/bin/python bench/bench_archive.py                                   # 1,000,000 documents
    .venv/bin/python bench/bench_archive.py --documents 20000 --ingest-documents 2000   # quick run
    .venv/bin/python bench/bench_archive.py --documents 300000 --json /tmp/archive.json

Documents are grown from the real ones in ../shared/data/documents (bench_archive_data.py:
60 % Russian, 30 % Chinese, 10 % English, 2-20 KB, every identifier varied), generated as they
are needed, never all in memory. No network. Three phases, each in its own interpreter:

  (a) ingest   the first --ingest-documents documents written as files (.rtf notices, .eml
               e-mails, .txt decisions, laws and notices) and added with the installed
               `censorwatch archive add DIR --format json [--workers W]`: extraction in isolated
               workers, languages, entities, DuckDB rows, originals, index. Wall, CPU (the CLI
               and its workers), peak RSS (the largest process, and the process tree summed),
               and the sizes of the store, the originals and the index
  (b) build    all --documents documents through languages + entities (a pool of --workers
               processes, as ingest's workers) and ArchiveIndex.add every 200 (ingest's batch)
               in one process (bench_archive_build.py); no DuckDB rows: this phase is about the
               index at scale, (a) gives the rows' cost per document. Then the baseline index:
               the first tenth again, ArchiveIndex.add alone
  (c) queries  --queries queries per type through ArchiveIndex.search (snippets included) and
               through the engine alone, on the index and on the baseline index 10x smaller
               built in the same run: how latency grows with the archive
               (bench_archive_queries.py; cProfile of any type whose p99 misses the target)

The figures, and the commands that gave them, are in docs/archive.md ("Figures")."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

from bench_archive_data import TreePeak, file_bytes, generate, load_corpus
from bench_archive_report import report

BENCH = Path(__file__).resolve().parent
CENSORWATCH = Path(sys.executable).with_name("censorwatch")


def run_child(command: list[str], log: Path) -> dict[str, float]:
    """Run to completion; wall, CPU and largest-process RSS from wait4 (which counts the
    descendants the child waited for: ingest's workers, the build's pool)."""
    with log.open("wb") as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                   env={**os.environ, "COLUMNS": "200"})
        tree = TreePeak(process.pid)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
    peak_tree = tree.stop()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        tail = log.read_text("utf-8", errors="replace")[-3000:]
        raise SystemExit(f"{' '.join(command[:4])} ... exited {code}:\n{tail}")
    return {"seconds": seconds, "cpu_seconds": usage.ru_utime + usage.ru_stime,
            "peak_rss_bytes": usage.ru_maxrss * 1024, "peak_rss_tree_bytes": peak_tree}


def size_of(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else 0


def ingest_phase(work: Path, documents: int, seed: int, workers: int | None) -> dict[str, object]:
    """Phase (a): files on disk, then the real `archive add`."""
    corpus = load_corpus()
    files = work / "files"
    started = time.perf_counter()
    written = 0
    for number in range(documents):
        document = generate(number, corpus, seed)
        folder = files / f"{number // 1000:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        data = file_bytes(document)
        (folder / document.name).write_bytes(data)
        written += len(data)
    writing = time.perf_counter() - started
    db = work / "ingest" / "archive.duckdb"
    db.parent.mkdir()
    command = [str(CENSORWATCH), "archive", "add", str(files), "--db", str(db), "--collection", "bench",
               "--format", "json"]
    if workers:
        command += ["--workers", str(workers)]
    measured = run_child(command, work / "ingest.log")
    text = (work / "ingest.log").read_text("utf-8")
    summary = orjson.loads(text[text.index("{"):])  # the progress bar, if any, writes first
    shutil.rmtree(files)
    return {
        **measured, "files": documents, "file_bytes": written, "writing_files_seconds": writing,
        "workers": workers, "report": {key: summary[key] for key in (
            "files", "added", "children", "failed", "needs_ocr", "indexed", "seconds", "reasons")},
        "db_bytes": size_of(db) + size_of(db.with_name(db.name + ".wal")),
        "originals_bytes": size_of(db.with_name(db.name + ".archive") / "originals"),
        "index_bytes": size_of(db.with_name(db.name + ".archive") / "index"),
    }


def build_phase(work: Path, args: argparse.Namespace) -> dict[str, object]:
    found = work / "build.json"
    if args.reuse_build and found.exists():
        build = orjson.loads(found.read_bytes())
        if build["requested"] == args.documents:
            print(f"(b) reusing {found}: built earlier by bench_archive_build.py with the same documents",
                  file=sys.stderr)
            return {**build, "reused": True}
    command = [sys.executable, str(BENCH / "bench_archive_build.py"), "--work", str(work),
               "--documents", str(args.documents), "--small", str(args.documents // args.small_factor),
               "--workers", str(args.build_workers), "--seed", str(args.seed), "--commit-every", str(args.commit_every)]
    if args.build_minutes:
        command += ["--minutes", str(args.build_minutes)]
    measured = run_child(command, work / "build.log")
    return {**orjson.loads(found.read_bytes()), "process": measured}


def query_phase(work: Path, args: argparse.Namespace) -> dict[str, object]:
    command = [sys.executable, str(BENCH / "bench_archive_queries.py"), "--work", str(work),
               "--queries", str(args.queries), "--seed", str(args.seed), "--profile", args.profile]
    measured = run_child(command, work / "queries.log")
    return {**orjson.loads((work / "queries.json").read_bytes()), "process": measured}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=1_000_000, help="documents indexed in phase (b)")
    parser.add_argument("--ingest-documents", type=int, default=20_000, help="files added in phase (a); 0: skip")
    parser.add_argument("--workers", type=int, default=None, help="`archive add --workers` (default: the CLI's)")
    parser.add_argument("--build-workers", type=int, default=os.cpu_count() or 2,
                        help="analysis processes of phase (b)")
    parser.add_argument("--queries", type=int, default=250, help="queries per type (at least 200 for a p99)")
    parser.add_argument("--small-factor", type=int, default=10, help="the baseline index is N / this")
    parser.add_argument("--commit-every", type=int, default=200)
    parser.add_argument("--build-minutes", type=float, default=None,
                        help="phase (b) takes no new documents after this long (then N is what it indexed)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", choices=("auto", "all", "never"), default="auto")
    parser.add_argument("--work", type=Path, default=None, help="keep files here (default: a temporary directory)")
    parser.add_argument("--reuse-build", action="store_true", help="use WORK/build.json and WORK/index if there")
    parser.add_argument("--json", type=Path, default=None, help="save the figures here")
    args = parser.parse_args()
    try:
        load_corpus()
    except FileNotFoundError as error:
        print(f"bench_archive: {error}", file=sys.stderr)
        raise SystemExit(1) from error
    work = args.work or Path(tempfile.mkdtemp(prefix="bench_archive_"))
    work.mkdir(parents=True, exist_ok=True)
    figures: dict[str, object] = {"command": " ".join(sys.argv), "cores": os.cpu_count(),
                                  "load_average_start": os.getloadavg()}
    try:
        if args.ingest_documents:
            shutil.rmtree(work / "ingest", ignore_errors=True)
            print(f"(a) archive add of {args.ingest_documents:,} files ...", file=sys.stderr, flush=True)
            figures["ingest"] = ingest_phase(work, args.ingest_documents, args.seed, args.workers)
        print(f"(b) index of {args.documents:,} documents ... (progress: {work / 'build.log'})",
              file=sys.stderr, flush=True)
        figures["build"] = build_phase(work, args)
        print("(c) queries ...", file=sys.stderr, flush=True)
        figures["queries"] = query_phase(work, args)
        figures["load_average_end"] = os.getloadavg()
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    report(figures)
    if args.json:
        args.json.write_bytes(orjson.dumps(figures, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
