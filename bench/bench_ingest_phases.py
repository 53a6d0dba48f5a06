"""The phases of bench_ingest.py: each is one path over the bench's tree (or the bound it is
measured against), run in an interpreter of its own (`bench_ingest.py --phase NAME --spec JSON`),
returning what it measured as a dict (measurements, seconds, and what else its report row shows).
Every phase imports its modules before its clock starts; starting a Dask cluster, its workers and
their imports stay inside the clock where a run pays them."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import orjson


def lines_of(path: str, stdlib: bool) -> Iterator[bytes]:
    """The file's lines: through censorwatch's own reader (what ingest and process use), or
    through Python's gzip module (a reference bound: what the line reader saves)."""
    if stdlib:
        with gzip.open(path, "rb") as handle:
            yield from handle
        return
    from censorwatch.sources.line_reader import gzip_lines
    from censorwatch.sources.ooni_files import MAX_LINE_BYTES

    with open(path, "rb") as handle:
        for line in gzip_lines(handle, MAX_LINE_BYTES):
            if line is not None:
                yield line


def decompress_only(path: str) -> tuple[int, int]:
    count = size = 0
    for line in lines_of(path, stdlib=False):
        count += 1
        size += len(line)
    return count, size


def parse_file(path: str, stdlib: bool = False) -> tuple[int, int]:
    """The bound's unit of work: decompress and parse, nothing else."""
    count = size = 0
    loads = orjson.loads
    for line in lines_of(path, stdlib):
        if line.strip():
            loads(line)
            count += 1
            size += len(line)
    return count, size


def files_of(root: str) -> list[str]:
    from censorwatch.sources.ooni_files import expand_paths

    return [str(p) for p in expand_paths([Path(root)])]


def phase_gunzip(spec: dict[str, Any]) -> dict[str, Any]:
    files = files_of(spec["root"])
    started = time.perf_counter()
    decompressed = [decompress_only(p) for p in files]
    return {"measurements": sum(c for c, _ in decompressed), "seconds": time.perf_counter() - started}


def phase_bound(spec: dict[str, Any]) -> dict[str, Any]:
    files = files_of(spec["root"])
    started = time.perf_counter()
    parsed = [parse_file(p) for p in files]
    return {"measurements": sum(c for c, _ in parsed), "seconds": time.perf_counter() - started}


def phase_bound_stdlib(spec: dict[str, Any]) -> dict[str, Any]:
    files = files_of(spec["root"])
    started = time.perf_counter()
    parsed = [parse_file(p, stdlib=True) for p in files]
    return {"measurements": sum(c for c, _ in parsed), "seconds": time.perf_counter() - started}


def phase_bound_zlib_ng(spec: dict[str, Any]) -> dict[str, Any]:
    """The bound with zlib-ng inflating in the line reader: what it reads with where ISA-L's
    inflater is not installed (gzip_stream.py prefers ISA-L's, then zlib-ng's, then zlib's)."""
    from zlib_ng import zlib_ng

    from censorwatch import gzip_stream

    gzip_stream.INFLATER = zlib_ng
    return phase_bound(spec)


def phase_bound_parallel(spec: dict[str, Any]) -> dict[str, Any]:
    files = files_of(spec["root"])
    with get_context("spawn").Pool(spec["workers"]) as pool:
        pool.map(abs, range(spec["workers"]))  # workers up before the clock starts
        started = time.perf_counter()
        parsed = pool.map(parse_file, files, chunksize=1)
        seconds = time.perf_counter() - started
    return {"measurements": sum(c for c, _ in parsed), "seconds": seconds}


def run_ingest(root: str, db: Path) -> Any:
    # Modules are imported before the clock starts, as the bound's and process's are (by
    # files_of and phase_process); opening the store is timed.
    from censorwatch.sources.ingest import ingest_files
    from censorwatch.store import Store

    with Store(db) as store:
        return ingest_files(store, [Path(root)], "ooni")


def cans_bytes(db: Path) -> int:
    from censorwatch.store.cans import cans_directory

    shelf = cans_directory(db)
    return sum(p.stat().st_size for p in shelf.iterdir()) if shelf.is_dir() else 0


def phase_ingest(spec: dict[str, Any]) -> dict[str, Any]:
    import censorwatch.sources.ingest
    import censorwatch.store  # noqa: F401

    db = Path(spec["work"]) / "ingest.duckdb"
    remove_store(db)  # a store another round left would make this run skip every file
    started = time.perf_counter()
    stats = run_ingest(spec["root"], db)
    seconds = time.perf_counter() - started
    sizes = {"db_bytes": db.stat().st_size, "cans_bytes": cans_bytes(db)}
    # Kept for the reanalyse phase, which removes it.
    return {"measurements": stats.read, "stored": stats.stored, "skipped": sum(stats.skipped.values()),
            "seconds": seconds, **sizes}


def phase_reanalyse(spec: dict[str, Any]) -> dict[str, Any]:
    """`censorwatch reanalyse` of the ingest phase's store: every measurement read back from its
    can as received and judged again (none changes: the same code judged them)."""
    from censorwatch.sources.reanalysis import reanalyse
    from censorwatch.store import Store

    db = Path(spec["work"]) / "ingest.duckdb"
    started = time.perf_counter()
    with Store(db) as store:
        result = reanalyse(store)
    seconds = time.perf_counter() - started
    remove_store(db)
    return {"measurements": result.read, "changed": result.changed, "unreadable": result.unreadable,
            "seconds": seconds}


def phase_process(spec: dict[str, Any]) -> dict[str, Any]:
    # Imported before the clock, as every phase's modules are (process_tree imports Dask lazily);
    # starting the cluster, its workers and their imports stay inside it.
    import dask.distributed  # noqa: F401

    from censorwatch.distributed.process import process_tree

    raw = spec.get("raw", "embed")
    out = Path(spec["work"]) / f"parquet-{raw}"
    shutil.rmtree(out, ignore_errors=True)  # another round's parts would make this run skip every file
    started = time.perf_counter()
    stats = process_tree(Path(spec["root"]), out, "local", spec["workers"], raw=raw)
    seconds = time.perf_counter() - started
    size = sum(p.stat().st_size for p in out.rglob("*.parquet"))
    return {"measurements": stats.read, "stored": stats.written, "skipped": sum(stats.skipped.values()),
            "seconds": seconds, "parts": stats.parts, "parquet_bytes": size, "kept": dict(stats.kept_inputs)}


def phase_process_one(spec: dict[str, Any]) -> dict[str, Any]:
    """`censorwatch process --cluster none`: the Dask task's work done in this one process, file
    after file (the default --raw copy): the single-process figure of the same job."""
    from censorwatch.distributed.process import process_single

    out = Path(spec["work"]) / "parquet-one"
    started = time.perf_counter()
    stats = process_single(Path(spec["root"]), out)
    seconds = time.perf_counter() - started
    shutil.rmtree(out)  # nothing reads it (see remove_store)
    return {"measurements": stats.read, "stored": stats.written, "skipped": sum(stats.skipped.values()),
            "seconds": seconds}


def phase_process_cli(spec: dict[str, Any]) -> dict[str, Any]:
    """`censorwatch process PATH --out DIR` run as a user runs it: the installed console script,
    its own interpreter and imports, a LocalCluster it starts (the command line's defaults but
    --workers), its progress output to a file."""
    out = Path(spec["work"]) / "parquet-cli"
    script = Path(sys.executable).parent / "censorwatch"
    command = [str(script), "process", spec["root"], "--out", str(out), "--workers", str(spec["workers"])]
    started = time.perf_counter()
    with open(Path(spec["work"]) / "process-cli.log", "w") as log:
        subprocess.run(command, stdout=log, stderr=log, check=True)
    seconds = time.perf_counter() - started
    written = sum(1 for _ in out.rglob("*.parquet"))
    shutil.rmtree(out)  # nothing reads it (see remove_store)
    return {"measurements": spec["measurements"], "seconds": seconds, "parts": written}


def phase_copy_inputs(spec: dict[str, Any]) -> dict[str, Any]:
    """What `--raw copy` pays per input file when it cannot hard-link: a kernel file copy."""
    out = Path(spec["work"]) / "copied-inputs"
    out.mkdir()
    files = files_of(spec["root"])
    started = time.perf_counter()
    for number, path in enumerate(files):
        shutil.copyfile(path, out / f"{number}.jsonl.gz")
    seconds = time.perf_counter() - started
    shutil.rmtree(out)
    return {"measurements": spec["measurements"], "seconds": seconds}


def phase_ingest_parquet(spec: dict[str, Any]) -> dict[str, Any]:
    """`censorwatch ingest parquet` of what a process phase wrote, into a fresh store."""
    from censorwatch.sources.parquet import load_parquet
    from censorwatch.store import Store

    db = Path(spec["work"]) / f"from-parquet-{spec['raw']}.duckdb"
    remove_store(db)
    started = time.perf_counter()
    with Store(db) as store:
        loaded = load_parquet(store, Path(spec["work"]) / f"parquet-{spec['raw']}")
    seconds = time.perf_counter() - started
    sizes = {"db_bytes": db.stat().st_size, "cans_bytes": cans_bytes(db)}
    # Nothing reads the store again; left behind, its half-gigabyte of cans slowed whichever load
    # came next by about 0.8 s (the order of the two linked loads swapped, the delay followed).
    remove_store(db)
    return {"measurements": loaded.rows, "stored": loaded.stored, "skipped": sum(loaded.skipped.values()),
            "seconds": seconds, **sizes}


def remove_store(db: Path) -> None:
    from censorwatch.store.cans import cans_directory

    shutil.rmtree(cans_directory(db), ignore_errors=True)
    db.unlink(missing_ok=True)


def _warm(_: int) -> bool:
    # What a task imports, done before the clock.
    import censorwatch.analysis.record
    import censorwatch.distributed.parts  # noqa: F401

    return True


def phase_process_warm(spec: dict[str, Any]) -> dict[str, Any]:
    """The same job on a cluster started (and its workers' imports done) before the clock: the
    throughput of a long run, where starting the cluster once is nothing per measurement."""
    from dask.distributed import Client

    from censorwatch.distributed.process import process_tree, start_local_cluster

    raw = spec.get("raw", "embed")
    out = Path(spec["work"]) / f"parquet-warm-{raw}"
    cluster = start_local_cluster(spec["workers"])
    try:
        with Client(cluster) as client:  # type: ignore[no-untyped-call]
            client.gather(client.map(_warm, range(spec["workers"] * 4), pure=False))
        started = time.perf_counter()
        stats = process_tree(Path(spec["root"]), out, cluster.scheduler_address, spec["workers"], raw=raw)
        seconds = time.perf_counter() - started
    finally:
        cluster.close()
    shutil.rmtree(out)  # nothing reads it (see remove_store)
    return {"measurements": stats.read, "stored": stats.written, "skipped": sum(stats.skipped.values()),
            "seconds": seconds}


def _pool_task(path: str, out_dir: str) -> int:
    from censorwatch.distributed.file_task import process_file

    read: int = process_file(path, out_dir, raw="copy").read
    return read


def phase_process_pool(spec: dict[str, Any]) -> dict[str, Any]:
    """The Dask task's work on a plain multiprocessing pool of W processes, started and warmed
    before the clock, one file per task, largest first, as the warm cluster runs it: what any
    W-process scheme gets on this machine, so that what Dask itself costs shows beside it."""
    from functools import partial
    from multiprocessing import get_context

    from censorwatch.distributed.process import input_files
    from censorwatch.distributed.task_groups import task_groups

    out = Path(spec["work"]) / "parquet-pool"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    files = [str(group[0]) for group in task_groups(input_files(Path(spec["root"])))]
    with get_context("spawn").Pool(spec["workers"]) as pool:
        pool.map(_warm, range(spec["workers"] * 4))
        started = time.perf_counter()
        read = sum(pool.imap_unordered(partial(_pool_task, out_dir=str(out)), files, chunksize=1))
        seconds = time.perf_counter() - started
    shutil.rmtree(out)  # nothing reads it (see remove_store)
    return {"measurements": read, "seconds": seconds}


def phase_profile(spec: dict[str, Any]) -> dict[str, Any]:
    from bench_ingest_profile import (
        ingest_breakdown,
        print_breakdown,
        print_cprofile,
        print_template_costs,
        process_breakdown,
    )

    root, work = Path(spec["root"]), Path(spec["work"])
    clock, seconds = ingest_breakdown(root, work / "profile-timed.duckdb")
    print_breakdown("ingest ooni -> DuckDB, stage timers", clock, seconds, spec["measurements"], spec["json_bytes"])
    clock, seconds = process_breakdown(root, work / "profile-parquet")
    print_breakdown("process_file (the Dask task) in one process, stage timers", clock, seconds,
                    spec["measurements"], spec["json_bytes"])
    print_cprofile(root, work / "profile.duckdb", run_ingest)
    print_template_costs(Path(spec["source"]), spec["repeats"])
    return {"measurements": spec["measurements"], "seconds": seconds}


def phase_uids(spec: dict[str, Any]) -> dict[str, Any]:
    """What deriving the uids costs (model/measurement.py: BLAKE3 of the JSON as received, the
    measurement's start time parsed for its prefix), CPU time of the derivation alone, on every
    line that carries no uid (with --given-uids, none)."""
    from censorwatch.model.measurement import measurement_uid
    from censorwatch.sources.ooni_files import read_records

    seconds = 0.0
    count = 0
    clock = time.process_time
    for path in files_of(spec["root"]):
        for record in read_records(Path(path)):
            if record.measurement is None or record.raw is None or "measurement_uid" in record.measurement:
                continue
            count += 1
            started = clock()
            measurement_uid(record.measurement, record.raw)
            seconds += clock() - started
    return {"measurements": count, "seconds": seconds}


PHASES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "gunzip": phase_gunzip, "bound": phase_bound, "bound-stdlib": phase_bound_stdlib,
    "bound-zlib-ng": phase_bound_zlib_ng,
    "bound-parallel": phase_bound_parallel, "ingest": phase_ingest, "reanalyse": phase_reanalyse,
    "process": phase_process, "process-warm": phase_process_warm, "profile": phase_profile,
    "process-link": lambda spec: phase_process({**spec, "raw": "link"}),
    "process-link-warm": lambda spec: phase_process_warm({**spec, "raw": "link"}),
    "ingest-parquet-embed": lambda spec: phase_ingest_parquet({**spec, "raw": "embed"}),
    "ingest-parquet-link": lambda spec: phase_ingest_parquet({**spec, "raw": "link"}),
    "process-copy": lambda spec: phase_process({**spec, "raw": "copy"}),
    "process-copy-warm": lambda spec: phase_process_warm({**spec, "raw": "copy"}),
    "ingest-parquet-copy": lambda spec: phase_ingest_parquet({**spec, "raw": "copy"}),
    "process-one": phase_process_one, "process-cli": phase_process_cli, "copy-inputs": phase_copy_inputs,
    "process-pool": phase_process_pool,
    "uids": phase_uids,
}
