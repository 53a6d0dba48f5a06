"""The daily routine over many small files: what `ingest ooni` and `process` cost per input file,
and what a second run over the same tree costs when the store's record of files read
(read_files) is as large as years of OONI's hourly files make it.

    .venv/bin/python bench/bench_rerun.py [--measurements 20000] [--files 2000] [--recorded 1000000]

Builds two trees of the same measurements (bench_ingest_data.py, no network): one spread over
about --files small files (OONI's hourly files of a small country or test hold a handful of
measurements each), one over 40 large files. Then, in this process, one after another:

  bound            decompress and parse each tree, nothing else (as bench_ingest.py)
  ingest ooni      into a fresh store; again over the same tree (every file read before: only the
                   lookups); again after --recorded other files were added to read_files
  process          process_single into a fresh directory; again (every file has its mark)
  process, running cluster
                   process_tree on a LocalCluster of two started (and its workers' imports and
                   fingerprint database done) before the clock, one task per file, and with
                   --files-per-task 8 (up to 8 files under 1 MB share a task)

"per file" is (small-file run - large-file run) / (difference in files): what a file costs
beyond its measurements.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench_ingest_data import DEFAULT_SOURCE, Tree, build_tree
from bench_ingest_phases import _warm, files_of, parse_file


def timed(action: Callable[[], Any]) -> tuple[float, float, Any]:
    """Wall and CPU seconds of this process (DuckDB's threads included) and the result."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = action()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def bound(tree: Tree) -> tuple[float, float, Any]:
    return timed(lambda: [parse_file(path) for path in files_of(str(tree.root))])


def record_other_files(db: Path, root: Path, count: int) -> None:
    """`count` rows for other files of the same tree, days before the bench's (which begin in
    2026), 2,000 files a day, in the order runs of the daily routine would have added them: a
    store that has read years of OONI's files before these."""
    from censorwatch.store import Store

    with Store(db) as store:
        store.con.execute(
            "INSERT INTO read_files SELECT ? || '/' || strftime(DATE '2020-01-01' + (i // 2000)::INTEGER, '%Y%m%d') "
            "|| '/' || lpad(((i % 2000) // 84)::VARCHAR, 2, '0') || '/XX/webconnectivity/' || i || '.jsonl.gz', "
            "100000 + i, i, '0011223344556677', 10, 0, 'earlier code', now() FROM range(?) AS t(i) ORDER BY i",
            [str(root.resolve()), count],
        )


def ingest_runs(tree: Tree, work: Path, recorded: int) -> dict[str, tuple[float, float, Any]]:
    from censorwatch.sources.ingest import ingest_files
    from censorwatch.store import Store

    db = work / "store.duckdb"
    runs: dict[str, tuple[float, float, Any]] = {}
    with Store(db) as store:
        runs["ingest ooni"] = timed(lambda: ingest_files(store, [tree.root]))
        runs["  again (nothing new)"] = timed(lambda: ingest_files(store, [tree.root]))
    record_other_files(db, tree.root, recorded)
    with Store(db) as store:
        runs[f"  again, {recorded:,} other files recorded"] = timed(lambda: ingest_files(store, [tree.root]))
    assert runs["  again (nothing new)"][2].files_read_before == len(tree.files)
    shutil.rmtree(db.with_name(db.name + ".cans"), ignore_errors=True)
    db.unlink()
    return runs


def process_runs(tree: Tree, work: Path) -> dict[str, tuple[float, float, Any]]:
    from censorwatch.distributed.process import process_single

    out = work / "parts"
    runs = {
        "process, one process": timed(lambda: process_single(tree.root, out)),
        "  again (every file marked)": timed(lambda: process_single(tree.root, out)),
    }
    shutil.rmtree(out)
    return runs


def cluster_runs(tree: Tree, work: Path, cluster: Any) -> dict[str, tuple[float, float, Any]]:
    """`process` on a running LocalCluster of two (CPU: this process only, where the scheduler
    runs), one task per file and with --files-per-task 8."""
    from censorwatch.distributed.process import process_tree

    out = work / "cluster-parts"

    def run(files_per_task: int) -> tuple[float, float, Any]:
        result = timed(
            lambda: process_tree(tree.root, out, cluster.scheduler_address, 2, files_per_task=files_per_task)
        )
        shutil.rmtree(out)
        return result

    return {"process, running cluster x2": run(1), "  the same, --files-per-task 8": run(8)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--measurements", type=int, default=20_000)
    parser.add_argument("--files", type=int, default=2000, help="about this many small files")
    parser.add_argument("--recorded", type=int, default=1_000_000, help="other files in read_files")
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    args = parser.parse_args()
    # Imported (and the fingerprint database made) before any clock starts.
    import censorwatch.distributed.parts
    import censorwatch.distributed.process
    import censorwatch.sources.ingest
    import censorwatch.store  # noqa: F401
    from censorwatch.analysis.fingerprints import load_fingerprints

    load_fingerprints().match_http("warm up", {})
    with tempfile.TemporaryDirectory(prefix="bench-rerun-") as temporary:
        work = Path(temporary)
        trees = {
            "small": build_tree(args.source, work / "small", args.measurements, args.files, 2),
            "large": build_tree(args.source, work / "large", args.measurements, 40, 2),
        }
        results: dict[str, dict[str, tuple[float, float, Any]]] = {}
        from dask.distributed import Client

        from censorwatch.distributed.process import start_local_cluster

        cluster = start_local_cluster(2)
        try:
            with Client(cluster) as client:  # type: ignore[no-untyped-call]
                client.gather(client.map(_warm, range(8), pure=False))
            for name, tree in trees.items():
                print(f"{name} files: {len(tree.files)} files, {tree.measurements} measurements, "
                      f"{tree.json_bytes / 1e6:.0f} MB of JSON", flush=True)
                runs = {"bound": bound(tree)}
                runs.update(ingest_runs(tree, work, args.recorded))
                runs.update(process_runs(tree, work))
                runs.update(cluster_runs(tree, work, cluster))
                results[name] = runs
        finally:
            cluster.close()
        report(trees, results)


def report(trees: dict[str, Tree], results: dict[str, dict[str, tuple[float, float, Any]]]) -> None:
    small, large = trees["small"], trees["large"]
    extra_files = len(small.files) - len(large.files)
    print(f"\n{'path':<44} {'small: wall s':>13} {'CPU s':>7} {'x bound':>8} {'large: wall s':>13} "
          f"{'CPU s':>7} {'x bound':>8} {'per file ms':>11}")
    for name in results["small"]:
        cells = []
        cores = 2 if "cluster" in name or "per-task" in name else 1
        for size in ("small", "large"):
            wall, cpu, _ = results[size][name]
            bound_wall = results[size]["bound"][0]
            cells.append(f"{wall:13.3f} {cpu:7.2f} {bound_wall / wall / cores:8.3f}")
        per_file = (results["small"][name][0] - results["large"][name][0]) / extra_files * 1000
        print(f"{name:<44} {cells[0]} {cells[1]} {per_file:11.3f}")
    print(f"\nx bound = the bound's wall time / (the path's x its cores), the issue's measure per core; CPU s = "
          f"this process's (the cluster rows: the client and scheduler only, not the workers); "
          f"per file = (small - large) / {extra_files} more files. The second runs read nothing: their time "
          f"is looking files up (ingest: read_files in the store; process: the marks in OUT/_finished).")


if __name__ == "__main__":
    main()
