"""Russia's register at scale: two snapshots grown from the real 2016 dumps to --entries lines
each, ingested with `censorwatch ingest registry-ru` (a real subprocess: wall time, entries/s,
peak RSS), diffed with `censorwatch registry diff --format json`, then looked up in-process
through RegistryStore.lookup against a naive scan of the dump files in the same run.

    .venv/bin/python bench/bench_registry.py                      # 2,000,000 entries (~8 min on 2 idle cores)
    .venv/bin/python bench/bench_registry.py --entries 200000     # quick run (~1 min)
    .venv/bin/python bench/bench_registry.py --entries 200000 --profile   # + cProfile of an ingest

Needs ../shared/data/registry-ru. Files and store live in a temporary directory (--workdir to
keep them). See bench_registry_data.py for how the register is grown."""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

from bench_registry_data import ADDED, CHANGED, DATA, REMOVED, SEED_A, SEED_B, Plan, fate, load_seeds, write_snapshot
from bench_registry_lookup import LookupRun, Target, choose_targets, naive_scan, summary, time_lookups

CENSORWATCH = Path(sys.executable).with_name("censorwatch")
MiB = 1024 * 1024


@dataclass
class Child:
    seconds: float
    peak_rss: int  # bytes, from wait4's rusage of this child alone
    cpu: float  # user + system seconds of this child: wall time alone misleads on a shared machine
    stdout_bytes: int
    stderr: str


def run_child(command: list[str], stdout: Path) -> Child:
    """Run a command to completion; its own peak RSS comes from wait4 (ru_maxrss, KiB on Linux)."""
    errors = stdout.with_suffix(".stderr")
    with stdout.open("wb") as out, errors.open("wb") as err:
        started = time.perf_counter()
        # COLUMNS: rich would wrap the child's report lines at 80 columns in a file.
        process = subprocess.Popen(command, stdout=out, stderr=err, env={**os.environ, "COLUMNS": "200"})
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
    text = errors.read_text("utf-8", errors="replace")
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} ... exited {process.returncode}:\n{text}")
    return Child(seconds, usage.ru_maxrss * 1024, usage.ru_utime + usage.ru_stime, stdout.stat().st_size, text)


def synthetic_changes(plan: Plan) -> tuple[int, int, int]:
    """(removed, address-changed, added) lines B's synthetic edits made (real ones come on top)."""
    removed = changed = added = 0
    for k in range(1, plan.copies):
        for index in range(plan.count("B", k)):
            seed = plan.seed("B", index)
            draw = fate(seed, k)
            removed += draw < REMOVED
            if REMOVED <= draw < CHANGED and seed.ips:
                changed += 1
            elif REMOVED <= draw < ADDED:
                added += 1
    return removed, changed, added


def high_water() -> int:
    """This process's peak RSS so far, in bytes."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def profile_ingest(files: list[Path], db: Path, top: int) -> None:
    """cProfile of the same ingest the CLI runs, in this process, into a separate store."""
    from censorwatch.sources.registry_ingest import ingest_files
    from censorwatch.store import Store

    store = Store(db)
    profiler = cProfile.Profile()
    try:
        profiler.enable()
        ingest_files(store.con, files, None, False)
        profiler.disable()
    finally:
        store.close()
    for order in ("tottime", "cumulative"):
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats(order).print_stats(top)
        print(f"\n--- cProfile of ingesting snapshot A, by {order} ---")
        print("\n".join(line for line in text.getvalue().splitlines() if line.strip())[:6000])


def row(*cells: object) -> None:
    print("  " + "".join(f"{c!s:<22}" if i == 0 else f"{c!s:>16}" for i, c in enumerate(cells)))


def report_ingest(name: str, child: Child, entries: int, db: Path) -> None:
    row(f"ingest {name}", f"{child.seconds:.1f} s", f"{entries / child.seconds:,.0f} /s",
        f"{child.peak_rss / MiB:,.0f} MiB", f"{db.stat().st_size / MiB:,.0f} MiB", f"{child.cpu:.1f} s")
    for line in child.stderr.strip().splitlines():
        if not line.endswith("entries/s)"):  # the CLI's progress lines
            print(f"      | {line}")


def report_lookups(targets: list[Target], db: Path) -> LookupRun:
    """Times RegistryStore.lookup for every target and prints the figures per kind."""
    run = time_lookups(db, targets)
    print(f"\nIndexed look-ups: RegistryStore.lookup, latest snapshot, read-only store, {len(targets)} targets")
    row("kind", "targets", "found", "look-ups/s", "p50 ms", "p99 ms")
    every: list[float] = []
    kinds = dict.fromkeys(t.kind for t in sorted(targets, key=lambda t: t.kind))
    for kind in kinds:
        values = run.latencies.get(kind, [])
        every.extend(values)
        found = sum(1 for t in targets if t.kind == kind and run.found.get(t.text))
        if values:
            rate, p50, p99 = summary(values)
            row(kind, len(values), found, f"{rate:,.0f}", f"{p50:.2f}", f"{p99:.2f}")
    rate, p50, p99 = summary(every)
    row("all", len(every), sum(1 for t in targets if run.found.get(t.text)), f"{rate:,.0f}", f"{p50:.2f}",
        f"{p99:.2f}")
    for error, count in run.errors.items():
        print(f"  look-up error x{count}: {error}")
    return run


def report_naive(files: list[Path], targets: list[Target], lookups: LookupRun, singles: int) -> None:
    found = lookups.found
    timed = [lookups.seconds[t.text] for t in targets if t.text in lookups.seconds]
    indexed_rate, p50, p99 = summary(timed)
    scan = naive_scan(files, targets)
    print(f"\nNaive scan: parse_dump_line on every line of snapshot B ({scan.lines:,} lines, {len(files)} files), "
          f"{len(targets)} targets checked in one pass")
    per_target = scan.seconds  # a single-target scan parses the same lines
    row("one pass", f"{scan.seconds:.1f} s", f"{scan.lines / scan.seconds:,.0f} lines/s", f"{scan.broken} broken")
    row("naive, per target", f"{1 / per_target:.4f} /s", f"{per_target * 1e3:,.0f} ms each")
    row("naive, batched", f"{len(targets) / scan.seconds:.1f} /s", f"{len(targets)} in one pass")
    for target in targets[:singles]:
        single = naive_scan(files, [target])
        row("single-target scan", f"{single.seconds:.1f} s", f"({target.kind})")
    row("index, same targets", f"{indexed_rate:,.1f} /s", f"p50 {p50:.2f} ms", f"p99 {p99:.2f} ms")
    print(f"  speed-up of the index: x{indexed_rate * per_target:,.0f} over a per-target scan, "
          f"x{indexed_rate * scan.seconds / len(targets):,.1f} over the batched pass")
    agree_found = [t for t in targets if bool(found.get(t.text)) == bool(scan.found[t.text])]
    agree_count = [t for t in targets if found.get(t.text, -1) == len(scan.found[t.text])]
    hits = sum(1 for t in targets if scan.found[t.text])
    print(f"  agreement with the index: found/not found {len(agree_found)}/{len(targets)}, "
          f"number of entries {len(agree_count)}/{len(targets)} ({hits} targets found by the scan)")
    for target in [t for t in targets if t not in agree_count][:10]:
        print(f"  DISAGREE {target.kind} {target.text!r}: index {found.get(target.text)} entries, "
              f"scan {len(scan.found[target.text])}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=2_000_000, help="lines per snapshot (default 2,000,000)")
    parser.add_argument("--file-lines", type=int, default=100_000, help="lines per dump-NN.csv file")
    parser.add_argument("--lookups", type=int, default=3000, help="indexed look-up targets")
    parser.add_argument("--naive", type=int, default=300, help="targets of the naive scan (a subset)")
    parser.add_argument("--naive-single", type=int, default=1, help="real single-target scans to confirm")
    parser.add_argument("--profile", action="store_true", help="also cProfile an in-process ingest of A")
    parser.add_argument("--workdir", type=Path, help="keep files and store here (default: a temp dir)")
    args = parser.parse_args()
    if not (DATA / SEED_A).is_file() or not (DATA / SEED_B).is_file():
        print(f"needs the real dumps in {DATA}", file=sys.stderr)
        return 2
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-registry-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        run(args, workdir)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


def run(args: argparse.Namespace, workdir: Path) -> None:
    began = time.perf_counter()
    plan = Plan(args.entries, load_seeds(SEED_A), load_seeds(SEED_B))
    print(f"Register benchmark: {args.entries:,} entries per snapshot = {plan.copies} copies of the 2016 dumps "
          f"({len(plan.seeds_a):,} / {len(plan.seeds_b):,} seed lines), {os.cpu_count()} CPUs, in {workdir}")
    row("step", "wall", "rate", "peak RSS", "size", "CPU")
    written = {}
    for name in ("A", "B"):
        started = time.perf_counter()
        written[name] = write_snapshot(plan, name, workdir / name, args.file_lines)
        seconds = time.perf_counter() - started
        row(f"write {name}", f"{seconds:.1f} s", f"{written[name].lines / seconds:,.0f} /s",
            f"{len(written[name].files)} files", f"{written[name].bytes / MiB:,.0f} MiB")
    removed, changed, added = synthetic_changes(plan)
    print(f"  B vs A: the real week's changes in each copy, plus synthetic: {removed:,} lines removed, "
          f"{changed:,} with an address changed, {added:,} added")
    db = workdir / "registry.duckdb"
    for name in ("A", "B"):
        files = [str(f) for f in written[name].files]
        child = run_child([str(CENSORWATCH), "ingest", "registry-ru", *files, "--db", str(db)],
                          workdir / f"ingest-{name}.out")
        report_ingest(name, child, written[name].lines, db)
    child = run_child([str(CENSORWATCH), "registry", "diff", "--format", "json", "--db", str(db)],
                      workdir / "diff.json")
    row("diff --format json", f"{child.seconds:.1f} s", "", f"{child.peak_rss / MiB:,.0f} MiB",
        f"{child.stdout_bytes / MiB:,.1f} MiB out", f"{child.cpu:.1f} s")
    diff = orjson.loads((workdir / "diff.json").read_bytes())
    print(f"      | {diff['from']} -> {diff['to']}: {diff['added']:,} added, {diff['removed']:,} removed, "
          f"{diff['changed']:,} changed, {len(diff['groups']):,} authority/decision groups")
    del diff
    marks = {"diff JSON read back": high_water()}
    targets = choose_targets(plan, args.lookups)
    lookups = report_lookups(targets, db)
    marks["look-ups"] = high_water()
    step = max(1, len(targets) // args.naive)
    report_naive(written["B"].files, targets[::step][: args.naive], lookups, args.naive_single)
    marks["naive scan"] = high_water()
    if args.profile:
        profile_ingest(written["A"].files, workdir / "profile.duckdb", 30)
    print(f"\ntotal {time.perf_counter() - began:.0f} s; peak RSS of this process after "
          + ", ".join(f"{step} {value / MiB:,.0f} MiB" for step, value in marks.items()))


if __name__ == "__main__":
    sys.exit(main())
