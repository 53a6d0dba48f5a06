"""Re-analyse an OONI raw-layout tree (raw/YYYYMMDD/HH/CC/testname/*.jsonl.gz) into Parquet: the
job of `censorwatch process`. One task per input file (distributed/file_task.py) writes one
Parquet part per (file, partition); process_single runs the tasks in this process, process_tree
fans them out on a Dask cluster (a LocalCluster, or a scheduler address whose workers see the
same paths), in the order and groups of distributed/task_groups.py.

`raw` chooses where the parts keep each measurement's JSON: "copy", the default (rows of gzip files
point into a copy of the input file kept in the output directory, which is then complete in
itself; distributed/kept_inputs.py), "link" (rows point into the input file itself, which
`ingest parquet` then reads and keeps; distributed/parts.py) or "embed" (a zstd frame in the row;
each part is complete in itself, at more CPU: docs/ingest.md)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from censorwatch.distributed.file_task import process_file, process_files
from censorwatch.distributed.results import FileResult, ProcessStats
from censorwatch.distributed.task_groups import SMALL_FILE_BYTES, grouped, largest_first

RAW_MODES = ("embed", "link", "copy")

# What the local cluster's nannies give their workers, against Dask's defaults:
# - no MALLOC_TRIM_THRESHOLD_ (Dask sets 64 KiB): setting it turns off glibc's adaptive mmap
#   threshold, so every 1 MiB read and 8 MiB inflate buffer of the line reader was mapped and
#   unmapped again: 4.3 times the page faults, and each task took a fifth more CPU than the same
#   work in one process (bench/bench_ingest.py). Task memory is bounded by the reader anyway.
# - no statistical profiler, which samples each worker's stack every 10 ms for a dashboard we
#   do not start.
# - an event loop that wakes less often: its health check every 20 ms, the dashboard's system
#   monitor every 0.5 s and the memory monitor every 0.1 s each take the GIL from the task thread.
#   Every 1 s (memory), 1 s (health) and 5 s (dashboard figures) gave 2 to 4 % more throughput on
#   a warm cluster: 8 wins in 11 alternating pairs, mean wall 6.42 s against 6.70 s per 100,000.
LOCAL_CLUSTER_CONFIG = {
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.worker.memory.monitor-interval": "1s",
}


class ProcessError(RuntimeError):
    """The job could not run at all (no input, cluster unreachable)."""


def input_files(source: Path) -> list[Path]:
    from censorwatch.sources.ooni_files import expand_paths

    if not source.exists():
        raise ProcessError(f"{source} does not exist")
    files = list(expand_paths([source]))
    if not files:
        raise ProcessError(f"no measurement files under {source}")
    return files


def process_single(
    source: Path,
    out_dir: Path,
    on_file: Callable[[FileResult], None] | None = None,
    *,
    raw: str = "copy",
    redo: bool = False,
) -> ProcessStats:
    """The same output as process_tree, in this process (the baseline and the reference)."""
    _check_options(raw)
    return _run(
        source, out_dir,
        lambda files: (process_file(p, out_dir, raw=raw, redo=redo) for p in files),
        on_file,
    )


def _check_options(raw: str) -> None:
    if raw not in RAW_MODES:
        raise ProcessError(f"raw must be one of {', '.join(RAW_MODES)}, not {raw!r}")


def process_tree(
    source: Path,
    out_dir: Path,
    cluster: str = "local",
    n_workers: int = 2,
    *,
    processes: bool = True,
    connect_timeout: str = "10s",
    on_file: Callable[[FileResult], None] | None = None,
    raw: str = "copy",
    redo: bool = False,
    files_per_task: int = 1,
) -> ProcessStats:
    """One Dask task per file. cluster "local" starts a LocalCluster of n_workers single-threaded
    worker processes (the GIL makes threads useless for parsing JSON) with no dashboard; any
    other value is a scheduler address such as tcp://host:8786. With `files_per_task` above 1, up
    to that many small files share a task (distributed/task_groups.py)."""
    from dask.distributed import Client, as_completed

    _check_options(raw)
    small_alone = 0  # set by fan_out: small files that had a task of their own

    def fan_out(files: list[Path]) -> Iterable[FileResult]:
        nonlocal small_alone
        if cluster == "local":
            local = start_local_cluster(n_workers, processes)
            client = Client(local)  # type: ignore[no-untyped-call]
        else:
            local = None
            try:
                client = Client(cluster, timeout=connect_timeout)  # type: ignore[no-untyped-call]
            except (OSError, TimeoutError) as error:
                raise ProcessError(f"cannot reach the Dask scheduler at {cluster}: {error}") from error
        try:
            sized = largest_first(files)
            if files_per_task <= 1:
                small_alone = sum(1 for _, size in sized if size < SMALL_FILE_BYTES)
            groups = [[str(p) for p in group] for group in grouped(sized, files_per_task)]
            futures = client.map(process_files, groups, out_dir=str(out_dir), raw=raw, redo=redo, pure=False)
            for future in as_completed(futures):  # type: ignore[no-untyped-call]
                yield from future.result()
        finally:
            client.close()  # type: ignore[no-untyped-call]
            if local is not None:
                local.close()

    stats = _run(source, out_dir, fan_out, on_file)
    stats.small_files_alone = small_alone
    return stats


def start_local_cluster(n_workers: int, processes: bool = True) -> Any:
    """A LocalCluster of n_workers single-threaded workers on loopback, no dashboard, configured
    by LOCAL_CLUSTER_CONFIG."""
    import dask
    from dask.distributed import LocalCluster

    try:
        with dask.config.set(LOCAL_CLUSTER_CONFIG):
            return LocalCluster(  # type: ignore[no-untyped-call]  # dask ships no stubs
                n_workers=n_workers, threads_per_worker=1, processes=processes, dashboard_address=None,
                # TCP on loopback also for workers in this process: Dask's in-process transport
                # does not take a host address, and the scheduler failed to start with one.
                host="127.0.0.1", protocol="tcp",
            )
    except RuntimeError as error:  # e.g. spawned workers cannot re-import a stdin __main__
        raise ProcessError(f"could not start a local Dask cluster: {error}") from error


def _run(
    source: Path,
    out_dir: Path,
    execute: Callable[[list[Path]], Iterable[FileResult]],
    on_file: Callable[[FileResult], None] | None,
) -> ProcessStats:
    started = time.monotonic()
    files = input_files(source)
    out_dir.mkdir(parents=True, exist_ok=True)
    stats = ProcessStats()
    for result in execute(files):
        stats.add(result)
        if on_file is not None:
            on_file(result)
    stats.seconds = time.monotonic() - started
    return stats
