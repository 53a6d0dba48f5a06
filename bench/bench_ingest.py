"""OONI ingest throughput against the bound "decompress and parse the same files with the same
JSON library (orjson, as sources.ooni_files does), nothing else", measured in the same run.

    .venv/bin/python bench/bench_ingest.py [--measurements 100000] [--files 40] [--workers 2]
                                           [--repeats 1] [--headline] [--profile auto|always|never]

Builds a raw-layout tree (raw/YYYYMMDD/HH/CC/testname/*.jsonl.gz) in a temporary directory by
replicating every readable real measurement of ../shared/data/ooni/measurements, lines without a
measurement_uid as in OONI's raw files (--given-uids: a fresh one in each) (bench_ingest_data.py).
No network. Then each phase (bench_ingest_phases.py) in a fresh interpreter, so that its peak RSS
is its own (sampled: the process and all its children, summed, so Dask workers count):

  bound         censorwatch's line reader (sources/line_reader.py, as ingest reads) + orjson.loads,
                one process (= the bound per core)
  bound, gzip   gzip.open + line iteration + orjson.loads: what the line reader saves over Python's
                gzip module
  bound, zlib-ng
                the line reader with zlib-ng inflating: the bound where ISA-L's inflater is not
                installed (gzip_stream.py)
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
  deriving uids every uid derived from its line (BLAKE3 of the JSON as received), one process, CPU
                time of the derivation alone, against the bound

With --repeats N every phase runs N times, round by round (the bound's run and a phase's runs
see the same machine: others share its cores); each row then shows the phase's fastest run, and
a last section each round's ratios against that round's bound (bench_ingest_report.py).

"x bound/c" is throughput / (cores x bound per core), the issue's measure (target >= 0.50);
"x b/CPU" is measurements per CPU second over the bound's, which holds when other jobs share the
cores (then the LocalCluster's wall time, not its CPU cost, suffers). With
--profile auto (default) a ratio below the target adds, on a small tree of the same mix, stage
timers around the ingest and process paths, a cProfile of the single-process ingest, and the
analysis cost of each real measurement against its parse cost (bench_ingest_profile.py).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from bench_ingest_data import DEFAULT_SOURCE, build_tree
from bench_ingest_phases import PHASES
from bench_ingest_report import HEADLINE_ROWS, TARGET, ratio, report, report_headline, report_rounds

# Every phase of a full run, in the order each round runs them.
ALL_PHASES = (
    "gunzip", "bound", "bound-stdlib", "bound-zlib-ng", "bound-parallel", "ingest", "reanalyse", "process-one",
    "process", "process-warm", "process-link", "process-link-warm", "process-copy", "process-copy-warm",
    "process-pool", "process-cli", "copy-inputs", "ingest-parquet-embed", "ingest-parquet-copy",
    "ingest-parquet-link", "uids",
)


def run_phase(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Runs a phase in a fresh interpreter; adds peak_mib, the highest sampled RSS of the phase's
    process tree (Dask's nanny and worker processes included)."""
    command = [sys.executable, __file__, "--phase", name, "--spec", json.dumps(spec)]
    os.sync()  # what earlier phases wrote is on disk, so that no phase waits for another's writeback
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
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
                        help="lines carry a measurement_uid, so none is derived (OONI's raw files carry none)")
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
              "no measurement_uid, as OONI's raw files: each is derived from the line (BLAKE3 of its bytes)"))
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start")
        spec = {"root": str(tree.root), "work": str(work), "workers": args.workers,
                "measurements": tree.measurements}
        phases: tuple[str, ...] = ALL_PHASES
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
        worst = min(ratio(results[name], cores, results["bound"]) for name, cores in (("ingest", 1),
                                                                                    ("process", args.workers)))
        if args.profile == "always" or (args.profile == "auto" and worst < TARGET):
            print()
            small = build_tree(args.source, work / "profile-input", args.profile_measurements, 1, args.workers)
            print(f"profile input: {small.measurements} measurements in {len(small.files)} files, same mix")
            run_phase("profile", {"root": str(small.root), "work": str(work), "source": str(args.source),
                                  "repeats": 20, "measurements": small.measurements,
                                  "json_bytes": small.json_bytes})


if __name__ == "__main__":
    main()
