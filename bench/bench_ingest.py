"""OONI ingest throughput against the bound "decompress and parse the same files with the same
JSON library (orjson, as sources.ooni_files does), nothing else", measured in the same run.

    .venv/bin/python bench/bench_ingest.py [--measurements 100000] [--files 40] [--workers 2]
                                           [--repeats 1] [--headline] [--profile auto|always|never]

Builds a raw-layout tree (raw/YYYYMMDD/HH/CC/testname/*.jsonl.gz) in a temporary directory by
replicating every readable real measurement of ../shared/data/ooni/measurements, lines without a
measurement_uid as in OONI's raw files (--given-uids: a fresh one in each) (bench_ingest_data.py).
No network. Then, each in a fresh interpreter so its peak RSS is its own
(sampled: the process and all its children, summed, so Dask workers count):

  bound         censorwatch's line reader (sources/line_reader.py, as ingest reads) + orjson.loads,
                one process (= the bound per core)
  bound, gzip   gzip.open + line iteration + orjson.loads: the bound as runs before the line
                reader measured it, for comparison
  bound, zlib-ng
                the line reader with zlib-ng inflating: the bound as runs to 2026-11-28 measured it,
                before ISA-L's inflater (gzip_stream.py), for comparison
  bound xW      the bound over W processes (how far this machine scales when others share it)
  ingest        `censorwatch ingest ooni` as a library call: ingest_files into a fresh store (what
                the CLI runs, minus its progress bar): gzip files kept whole as cans beside the
                DuckDB file, the rows pointing into them
  censorwatch process (CLI)
                the installed `censorwatch process PATH --out DIR --workers W`, a user's run: its
                interpreter, imports and LocalCluster included
  process --cluster none
                `censorwatch process --cluster none` as a library call: process_single, every file
                in this one process with the CLI's default --raw copy (the single-process figure of
                the cluster's job)
  process       `censorwatch process --cluster local` as a library call: process_tree on a Dask
                LocalCluster of W single-threaded workers, one task per file, Parquet out
                (wall time includes starting and stopping the cluster, as a CLI run does)
  process --raw link
                the same with parts that point into the input files instead of keeping zstd frames
  process --raw copy
                the same, pointing into copies of the input files kept in the output directory
                (hard links here: the bench's input and output share a file system)
  copying the input files
                shutil.copyfile of every input file, one process: what --raw copy adds when the
                output directory is on another file system than the input
  reanalyse     `censorwatch reanalyse` of the ingest phase's store: every measurement read back
                from its can and judged again, one process
  ingest parquet
                loading each process phase's parts into a fresh store, and the sum of both steps
                against ingest ooni
  process --raw copy, plain pool
                the warm cluster's job on a multiprocessing pool of W processes, started and
                warmed before the clock: what W processes get on this machine without Dask
  process, cluster already up
                the same job on a LocalCluster started, and its workers' imports done, before the
                clock: what a long run sustains once the cluster's start is spread over it (CPU s
                still counts the whole process tree, start-up included)
  deriving uids  every line's uid derived under each scheme of model/measurement.py, one process,
                CPU time of the derivation alone: the scheme new stores use against the one of
                stores made before 2026-11, in the same run

With --repeats N every phase runs N times, round by round (the bound's run and a phase's runs
see the same machine: others share its cores); each row then shows the phase's fastest run, and
a last section each round's ratios against that round's bound.

"x bound/c" is throughput / (cores x bound per core), the issue's measure (target >= 0.50);
"x b/CPU" is measurements per CPU second over the bound's, which holds when other jobs share the
cores (then the LocalCluster's wall time, not its CPU cost, suffers). With
--profile auto (default) a ratio below the target adds, on a small tree of the same mix, stage
timers around the ingest and process paths, a cProfile of the single-process ingest, and the
analysis cost of each real measurement against its parse cost (bench_ingest_profile.py).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import orjson
import psutil

import censorwatch
from bench_ingest_data import DEFAULT_SOURCE, Tree, build_tree
from censorwatch.compiled import PURE_PYTHON_ENV

PURE_SUFFIX = "-pure"  # a phase name ending so runs that phase from censorwatch's Python sources

TARGET = 0.50


# --- phases (each runs in its own interpreter: `bench_ingest.py --phase NAME --spec JSON`) ---


def lines_of(path: str, stdlib: bool) -> Iterator[bytes]:
    """The file's lines: through censorwatch's own reader (what ingest uses), or through Python's
    gzip module (the reader of earlier runs, kept as a reference bound)."""
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
    """The bound as runs to 2026-11-28 measured it, with zlib-ng inflating in the line reader
    (gzip_stream.py now prefers ISA-L's inflater where it is installed)."""
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
    remove_store(db)  # a store an earlier round left would make this run skip every file
    started = time.perf_counter()
    stats = run_ingest(spec["root"], db)
    seconds = time.perf_counter() - started
    sizes = {"db_bytes": db.stat().st_size, "cans_bytes": cans_bytes(db)}
    # Kept for the reanalyse phase, which comes next and removes it.
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
    shutil.rmtree(out, ignore_errors=True)  # an earlier round's parts would make this run skip every file
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
    from censorwatch.distributed.process import process_file

    read: int = process_file(path, out_dir, raw="copy").read
    return read


def phase_process_pool(spec: dict[str, Any]) -> dict[str, Any]:
    """The Dask task's work on a plain multiprocessing pool of W processes, started and warmed
    before the clock, one file per task, largest first, as the warm cluster runs it: what any
    W-process scheme gets on this machine, so that what Dask itself costs shows beside it."""
    from functools import partial
    from multiprocessing import get_context

    from censorwatch.distributed.process import input_files, task_groups

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
    """What deriving a uid costs under each scheme (model/measurement.py), on every line of the
    tree, whether or not it carries one: the same run's baseline for the scheme new stores use."""
    from censorwatch.model.measurement import UID_SCHEMES, derived_uid
    from censorwatch.sources.ooni_files import read_records

    seconds = dict.fromkeys(UID_SCHEMES, 0.0)
    count = 0
    clock = time.process_time
    for path in files_of(spec["root"]):
        for record in read_records(Path(path)):
            if record.measurement is None or record.raw is None:
                continue
            count += 1
            for scheme in UID_SCHEMES:
                started = clock()
                derived_uid(record.measurement, record.raw, scheme)
                seconds[scheme] += clock() - started
    return {"measurements": count, "seconds": sum(seconds.values()), "schemes": seconds}


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


# --- the driver ---


def run_phase(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Runs a phase in a fresh interpreter; adds peak_mib, the highest sampled RSS of the phase's
    process tree (Dask's nanny and worker processes included)."""
    base = name.removesuffix(PURE_SUFFIX)
    command = [sys.executable, __file__, "--phase", base, "--spec", json.dumps(spec)]
    env = {**os.environ, PURE_PYTHON_ENV: "1"} if base != name else None
    os.sync()  # what earlier phases wrote is on disk, so that no phase waits for another's writeback
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    peak = [0]
    cpu: dict[tuple[int, float], float] = {}
    sampler = threading.Thread(target=sample_tree, args=(child.pid, peak, cpu), daemon=True)
    sampler.start()
    output, _ = child.communicate(timeout=3600)
    sampler.join(5)
    if child.returncode != 0:
        raise SystemExit(f"phase {name} failed with exit status {child.returncode}")
    lines = output.strip().splitlines()
    for line in lines[:-1]:
        print(line)
    result: dict[str, Any] = json.loads(lines[-1])
    result["peak_mib"] = peak[0] / 2**20
    # The phase's whole tree, interpreter start and imports included. What the phase process
    # reaped is in RUSAGE_CHILDREN, exactly; Dask workers forked from a fork server are reaped by
    # that server, which outlives the phase, so they count through the samples (each process's
    # own CPU time when last seen, at most one sampling interval short).
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    reaped = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    result["cpu_seconds"] = max(reaped, sum(cpu.values()))
    return result


def sample_tree(pid: int, peak: list[int], cpu: dict[tuple[int, float], float]) -> None:
    """Until `pid` ends: the highest RSS of it and its descendants together, and the CPU time of
    each of them (keyed by pid and start time)."""
    try:
        root = psutil.Process(pid)
        while root.is_running() and root.status() != psutil.STATUS_ZOMBIE:
            total = 0
            for process in [root, *root.children(recursive=True)]:
                try:
                    with process.oneshot():
                        total += process.memory_info().rss
                        times = process.cpu_times()
                        cpu[(process.pid, process.create_time())] = times.user + times.system
                except psutil.Error:
                    continue
            peak[0] = max(peak[0], total)
            time.sleep(0.05)
    except psutil.Error:
        return


def ratio(result: dict[str, Any], cores: int, bound: dict[str, Any]) -> float:
    """Throughput / (cores x the bound's throughput on one core)."""
    rate: float = result["measurements"] / result["seconds"]
    per_core: float = bound["measurements"] / bound["seconds"]
    return rate / (cores * per_core)


def row(name: str, cores: int, result: dict[str, Any], tree: Tree, bound: dict[str, Any], width: int = 30) -> None:
    seconds, cpu = result["seconds"], result["cpu_seconds"]
    rate = result["measurements"] / seconds
    per_core = ratio(result, cores, bound)
    cpu_ratio = (result["measurements"] / cpu) / (bound["measurements"] / bound["cpu_seconds"])
    print(f"{name:<{width}} {cores:>5} {result['measurements']:>8} {seconds:8.2f} {rate:10.0f} "
          f"{tree.json_bytes / seconds / 1e6:8.1f} {result['peak_mib']:9.0f} {cpu:7.1f} {per_core:10.3f} "
          f"{cpu_ratio:9.3f}")


def header(width: int = 30) -> None:
    """The columns `row` prints."""
    print(f"\n{'path':<{width}} {'cores':>5} {'meas.':>8} {'wall s':>8} {'meas/s':>10} {'MB/s':>8} "
          f"{'peak MiB':>9} {'CPU s':>7} {'x bound/c':>10} {'x b/CPU':>9}")


def report_headline(results: dict[str, dict[str, Any]], tree: Tree, workers: int) -> None:
    """The table of --headline: the bound and the paths the issue's target is about."""
    bound = results["bound"]
    header(width=40)
    row("bound: gunzip + orjson.loads", 1, bound, tree, bound, width=40)
    for name, key, cores in HEADLINE_ROWS:
        row(name, cores or workers, results[key], tree, bound, width=40)


def report(results: dict[str, dict[str, Any]], tree: Tree, workers: int) -> None:
    from censorwatch.distributed.parts import ROW_GROUP
    from censorwatch.sources.ingest import BATCH, BATCH_BYTES

    bound = results["bound"]
    header()
    row("(gunzip + line split only)", 1, results["gunzip"], tree, bound)
    row("bound: gunzip + orjson.loads", 1, bound, tree, bound)
    row("(bound with Python's gzip)", 1, results["bound-stdlib"], tree, bound)
    row("(bound with zlib-ng)", 1, results["bound-zlib-ng"], tree, bound)
    row(f"bound x{workers} processes", workers, results["bound-parallel"], tree, bound)
    row("ingest ooni -> DuckDB", 1, results["ingest"], tree, bound)
    row("  the same, pure Python", 1, results["ingest" + PURE_SUFFIX], tree, bound)
    row("reanalyse (the store again)", 1, results["reanalyse"], tree, bound)
    row("process --cluster none", 1, results["process-one"], tree, bound)
    row("  the same, pure Python", 1, results["process-one" + PURE_SUFFIX], tree, bound)
    row(f"process, LocalCluster x{workers}", workers, results["process"], tree, bound)
    row("  the same, cluster already up", workers, results["process-warm"], tree, bound)
    row(f"process --raw link, x{workers}", workers, results["process-link"], tree, bound)
    row("  the same, cluster already up", workers, results["process-link-warm"], tree, bound)
    row(f"process --raw copy, x{workers}", workers, results["process-copy"], tree, bound)
    row("  the same, cluster already up", workers, results["process-copy-warm"], tree, bound)
    row(f"  the same, plain pool x{workers}", workers, results["process-pool"], tree, bound)
    row(f"censorwatch process (CLI) x{workers}", workers, results["process-cli"], tree, bound)
    row("(copying the input files)", 1, results["copy-inputs"], tree, bound)
    print("\nloading the parts (`ingest parquet`, one process) and the whole way from the raw tree to the store")
    print(f"{'path':<44} {'wall s':>8} {'meas/s':>10} {'peak MiB':>9} {'CPU s':>7} {'store MB':>9}")
    for raw in ("embed", "link", "copy"):
        load, made = results[f"ingest-parquet-{raw}"], results["process" if raw == "embed" else f"process-{raw}"]
        print(f"{'ingest parquet of --raw ' + raw + ' parts':<44} {load['seconds']:8.2f} "
              f"{load['measurements'] / load['seconds']:10.0f} {load['peak_mib']:9.0f} {load['cpu_seconds']:7.1f} "
              f"{(load['db_bytes'] + load['cans_bytes']) / 1e6:9.0f}")
        total = made["seconds"] + load["seconds"]
        print(f"{'  process --raw ' + raw + ' x' + str(workers) + ' + ingest parquet':<44} {total:8.2f} "
              f"{made['measurements'] / total:10.0f} {'':>9} {made['cpu_seconds'] + load['cpu_seconds']:7.1f}")
    one = results["ingest"]
    print(f"{'  against: ingest ooni, one process':<44} {one['seconds']:8.2f} "
          f"{one['measurements'] / one['seconds']:10.0f} {one['peak_mib']:9.0f} {one['cpu_seconds']:7.1f} "
          f"{(one['db_bytes'] + one['cans_bytes']) / 1e6:9.0f}")
    def against(reference: dict[str, Any]) -> str:
        return ", ".join(
            f"{name} {ratio(results[key], cores, reference):.3f}"
            for name, key, cores in (("ingest", "ingest", 1), ("process --cluster none", "process-one", 1),
                                     ("process", "process", workers),
                                     ("process --raw copy", "process-copy", workers),
                                     ("the same, cluster already up", "process-copy-warm", workers),
                                     ("censorwatch process (CLI)", "process-cli", workers))
        )

    from censorwatch.gzip_stream import INFLATER

    print(f"The bound reads with censorwatch's own line reader (sources/line_reader.py: {INFLATER.__name__}, "
          f"1 MiB blocks), as ingest and process do. x bound/c against the bound with zlib-ng, as runs to "
          f"2026-11-28 measured it: {against(results['bound-zlib-ng'])}; against the bound with Python's gzip "
          f"module, as the first runs did: {against(results['bound-stdlib'])}.")
    print(f"MB = 10^6 bytes of uncompressed JSON; x bound/c = throughput / (cores x bound per core), the "
          f"issue's measure, target >= {TARGET:.2f}; peak MiB = highest sampled RSS of the phase's processes "
          f"together; CPU s = user+sys of the phase's process tree, start-up included; x b/CPU = measurements "
          f"per CPU second / the bound's (what the code costs, whatever else runs on the machine). Load average "
          f"{os.getloadavg()[0]:.2f} at the end (others share this machine).")
    ingest, process = results["ingest"], results["process"]
    print(f"stored: DuckDB {ingest['stored']} ({ingest['db_bytes'] / 1e6:.0f} MB file + "
          f"{ingest['cans_bytes'] / 1e6:.0f} MB of cans), Parquet {process['stored']} "
          f"in {process['parts']} parts ({process['parquet_bytes'] / 1e6:.0f} MB; linked to their input files: "
          f"{results['process-link']['parquet_bytes'] / 1e6:.1f} MB); skipped {ingest['skipped']} / "
          f"{process['skipped']}); --raw copy kept the input files as {results['process-copy']['kept']}")
    uids = results["uids"]
    per_100k = {scheme: cpu * 100_000 / max(uids["measurements"], 1) for scheme, cpu in uids["schemes"].items()}
    bound_cpu = bound["seconds"] * 100_000 / bound["measurements"]
    print("deriving uids, one process, CPU s per 100,000 (each line derived under every scheme; the bound "
          f"{bound_cpu:.2f}): " + ", ".join(f"{scheme} {cpu:.2f}" for scheme, cpu in per_100k.items()))
    print(f"batches end at {BATCH} rows or {BATCH_BYTES >> 20} MiB of JSON: {BATCH} consecutive measurements here "
          f"would be up to {tree.largest_run(BATCH, True) / 1e6:.0f} MB, {ROW_GROUP} in one file (a Parquet row "
          f"group) up to {tree.largest_run(ROW_GROUP, False) / 1e6:.0f} MB")


# The rows report_rounds follows run by run, in the order --headline runs them: (name, phase,
# cores; None: --workers). Each pure-Python row runs the code just above it from its Python
# sources, not compiled (censorwatch/compiled.py): the baseline, right after it in every round.
HEADLINE_ROWS = (
    ("ingest ooni", "ingest", 1), ("ingest ooni, pure Python", "ingest" + PURE_SUFFIX, 1),
    ("process --cluster none", "process-one", 1),
    ("process --cluster none, pure Python", "process-one" + PURE_SUFFIX, 1),
    ("process --raw copy", "process-copy", None), ("the same, cluster already up", "process-copy-warm", None),
    ("the same, plain process pool (no Dask)", "process-pool", None),
    ("censorwatch process (CLI)", "process-cli", None),
)


def report_rounds(rounds: list[dict[str, dict[str, Any]]], workers: int) -> None:
    """Each round against its own bound: the machine's other load moves a phase and the bound
    run just before it together, so these pairs vary less than any one phase's times."""
    print(f"\n{len(rounds)} rounds, every phase once per round; the rows above show each phase's fastest run "
          "(the bound's too, which only lowers the ratios). Each round's x bound/c against that round's bound:")
    print("  bound, s: " + " ".join(f"{run['bound']['seconds']:.2f}" for run in rounds))
    for name, key, cores in HEADLINE_ROWS:
        ratios = [ratio(run[key], cores or workers, run["bound"]) for run in rounds]
        print(f"  {name}: " + " ".join(f"{value:.3f}" for value in ratios)
              + f" (median {statistics.median(ratios):.3f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--measurements", type=int, default=100_000)
    parser.add_argument("--files", type=int, default=40,
                        help="about this many .jsonl.gz files (at least one per probe_cc/test_name group)")
    parser.add_argument("--workers", type=int, default=2, help="Dask workers (and bound processes)")
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="real measurements to replicate")
    parser.add_argument("--repeats", type=int, default=1,
                        help="run every phase this many times, round by round; each row shows its fastest run")
    parser.add_argument("--headline", action="store_true",
                        help="only the bound and the paths of the issue's target (ingest, process in one "
                             "process, on a cluster started by the run and on one already up, on a plain "
                             "pool, the CLI): for large inputs")
    parser.add_argument("--profile", choices=("auto", "always", "never"), default="auto")
    parser.add_argument("--profile-measurements", type=int, default=4600)
    parser.add_argument("--given-uids", action="store_true",
                        help="lines carry a measurement_uid (OONI's raw files do not; the bench's input up to "
                             "session 6 did)")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(PHASES[args.phase](json.loads(args.spec))))
        return
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as scratch:
        work = Path(scratch)
        started = time.perf_counter()
        tree = build_tree(args.source, work / "input", args.measurements, args.files, args.workers,
                          args.given_uids)
        built = time.perf_counter() - started
        print(f"input: {tree.measurements} measurements replicated from {tree.templates} real ones "
              f"({len(tree.skipped)} unreadable skipped) into {len(tree.files)} files under {tree.root}: "
              f"{tree.json_bytes / 1e6:.1f} MB of JSON, {tree.gz_bytes / 1e6:.1f} MB gzipped, built in {built:.1f} s")
        print("lines carry " + ("a measurement_uid each (--given-uids)" if args.given_uids else
              "no measurement_uid, as OONI's raw files: each is derived from the line "
              "(BLAKE3 of its bytes, the uid scheme of new stores and of `process`)"))
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start; censorwatch's "
              f"compiled modules: {censorwatch.COMPILED_STATE} (rows marked pure Python run them from source)")
        spec = {"root": str(tree.root), "work": str(work), "workers": args.workers,
                "measurements": tree.measurements}
        phases: tuple[str, ...] = (
            "gunzip", "bound", "bound-stdlib", "bound-zlib-ng", "bound-parallel", "ingest", "ingest" + PURE_SUFFIX,
            "reanalyse", "process-one", "process-one" + PURE_SUFFIX, "process", "process-warm", "process-link",
            "process-link-warm", "process-copy", "process-copy-warm", "process-pool", "process-cli",
            "copy-inputs", "ingest-parquet-embed", "ingest-parquet-copy", "ingest-parquet-link", "uids")
        if args.headline:
            phases = ("bound", *(key for _, key, _ in HEADLINE_ROWS))
        rounds = [{name: run_phase(name, spec) for name in phases} for _ in range(max(1, args.repeats))]
        results = {name: min((run[name] for run in rounds), key=lambda result: result["seconds"]) for name in phases}
        if args.headline:
            report_headline(results, tree, args.workers)
            print(f"Load average {os.getloadavg()[0]:.2f} at the end (others share this machine).")
        else:
            report(results, tree, args.workers)
        if len(rounds) > 1:
            report_rounds(rounds, args.workers)
        if args.headline:
            return
        per_core = results["bound"]["measurements"] / results["bound"]["seconds"]
        worst = min(results[n]["measurements"] / results[n]["seconds"] / (c * per_core)
                    for n, c in (("ingest", 1), ("process", args.workers)))
        if args.profile == "always" or (args.profile == "auto" and worst < TARGET):
            print()
            small = build_tree(args.source, work / "profile-input", args.profile_measurements, 1, args.workers)
            print(f"profile input: {small.measurements} measurements in {len(small.files)} files, same mix")
            run_phase("profile", {"root": str(small.root), "work": str(work), "source": str(args.source),
                                  "repeats": 20, "measurements": small.measurements,
                                  "json_bytes": small.json_bytes})


if __name__ == "__main__":
    main()
