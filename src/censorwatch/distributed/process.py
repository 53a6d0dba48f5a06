"""Re-analyse an OONI raw-layout tree (raw/YYYYMMDD/HH/CC/testname/*.jsonl.gz) into Parquet.

One task per input file: the task streams its file (censorwatch.sources.ooni_files.read_records),
gives every measurement our verdict (analysis.record.analysed_record, the same code as
`ingest ooni`) and writes one Parquet part per (file, partition). process_single runs the same
task function in this process; process_tree fans it out on a Dask cluster (a LocalCluster, or a
scheduler address whose workers see the same paths). Bad records are counted, never fatal.

`raw` chooses where the parts keep each measurement's JSON: "copy", the default (rows of gzip files
point into a copy of the input file kept in the output directory, which is then complete in
itself; distributed/kept_inputs.py), "link" (rows point into the input file itself, which
`ingest parquet` then reads and keeps; distributed/parts.py) or "embed" (a zstd frame in the row;
each part is complete in itself, at about a quarter more CPU: docs/ingest.md)."""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from censorwatch.analysis.record import analysed_record
from censorwatch.code_identity import code_identity
from censorwatch.distributed.finished_files import Mark, clear_mark, finished_mark, write_mark
from censorwatch.distributed.kept_inputs import KeptInput, keep_input
from censorwatch.distributed.parts import Link, PartWriter, file_id
from censorwatch.model.measurement import NEW_UID_SCHEME, UID_SCHEMES, MalformedMeasurement
from censorwatch.store.cans import identity_of, input_state, is_can_source

RAW_MODES = ("embed", "link", "copy")
# Files below this size (gzipped, as stored) may share a task (task_groups).
SMALL_FILE_BYTES = 1_000_000
# How many small files with a task each make the summary suggest --files-per-task.
SMALL_FILES_HINT = 100

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


_PLURAL = {"hard link": "hard links", "copy": "copies"}


class ProcessError(RuntimeError):
    """The job could not run at all (no input, cluster unreachable)."""


@dataclass
class FileResult:
    """What one task did with one input file (small: travels back from the worker)."""

    path: str
    read: int = 0
    written: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)
    parts: list[str] = field(default_factory=list)
    error: str | None = None
    kept: str | None = None  # --raw copy: "hard link" or "copy", how OUT/inputs got the file
    kept_input: str | None = None  # and the kept file's path relative to OUT
    reused: bool = False  # an earlier run finished this file (distributed/finished_files.py)

    def skip(self, reason: str, location: str) -> None:
        self.skipped[reason] += 1
        self.examples.setdefault(reason, location)


@dataclass
class ProcessStats:
    files: int = 0
    read: int = 0
    written: int = 0
    parts: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)
    failed_files: dict[str, str] = field(default_factory=dict)
    kept_inputs: Counter[str] = field(default_factory=Counter)  # by how they were kept
    seconds: float = 0.0
    # Files an earlier run into the same output directory finished, and the measurements their
    # parts hold: not processed again, not in the counts above.
    reused_files: int = 0
    reused_written: int = 0
    # Files under SMALL_FILE_BYTES that had a Dask task of their own (process_tree, one file per
    # task): the summary suggests --files-per-task when there are many.
    small_files_alone: int = 0

    def add(self, result: FileResult) -> None:
        if result.reused:
            self.reused_files += 1
            self.reused_written += result.written
            return
        self.files += 1
        self.read += result.read
        self.written += result.written
        self.parts += len(result.parts)
        self.skipped.update(result.skipped)
        for reason, location in result.examples.items():
            self.examples.setdefault(reason, location)
        if result.error:
            self.failed_files[result.path] = result.error
        if result.kept:
            self.kept_inputs[result.kept] += 1

    def summary_lines(self) -> list[str]:
        rate = self.read / self.seconds if self.seconds > 0 else 0.0
        lines = [
            f"files: {self.files}, records read: {self.read}, measurements written: {self.written}, "
            f"parts: {self.parts}, {self.seconds:.1f} s ({rate:.0f} records/s)",
        ]
        skipped = sum(self.skipped.values())
        if self.reused_files:
            lines.append(f"finished by an earlier run, not processed again: {self.reused_files} files "
                         f"({self.reused_written} measurements in their parts; --redo processes them again)")
        if self.kept_inputs:
            how = ", ".join(f"{count} as {_PLURAL[kind]}" for kind, count in sorted(self.kept_inputs.items()))
            lines.append(f"input files kept in the output directory: {sum(self.kept_inputs.values())} ({how})")
        lines.append(f"skipped records: {skipped}")
        for reason, count in self.skipped.most_common():
            lines.append(f"  {count} x {reason} (e.g. {self.examples.get(reason, '?')})")
        for path, error in sorted(self.failed_files.items()):
            lines.append(f"  file failed: {path}: {error}")
        if self.small_files_alone >= SMALL_FILES_HINT:
            lines.append(f"{self.small_files_alone} files under {SMALL_FILE_BYTES / 1e6:g} MB each had a Dask "
                         "task of its own, which costs the scheduler about as much as the file: --files-per-task 8 "
                         "lets them share tasks (a tree of small files ran about 1.7 times as fast on two cores)")
        return lines


def process_file(
    path: str | Path,
    out_dir: str | Path,
    source: str = "ooni",
    raw: str = "copy",
    uid_scheme: str = NEW_UID_SCHEME,
    redo: bool = False,
) -> FileResult:
    """The task: stream one file into its Parquet parts. Never raises for bad content; an
    unreadable file is reported in FileResult.error with whatever was counted. `uid_scheme`
    derives the uids of measurements that carry none (model/measurement.py); it must be the
    scheme of the store the parts will be loaded into. A file an earlier run into out_dir
    finished is not processed again (FileResult.reused; distributed/finished_files.py) unless
    `redo`."""
    file_path, out = Path(path), Path(out_dir)
    result = FileResult(str(file_path))
    name = file_id(file_path)
    try:
        state = input_state(file_path)
    except OSError as error:
        result.error = f"{type(error).__name__}: {error}"
        return result
    if not redo:
        earlier = finished_mark(out, name, state, raw, uid_scheme)
        if earlier is not None:
            return _reused(result, earlier)
    try:
        clear_mark(out, name)  # before any part is rewritten
    except OSError as error:
        result.error = f"cannot remove its mark of an earlier run: {type(error).__name__}: {error}"
        return result
    _process(file_path, out, result, source, raw, uid_scheme)
    if result.error is None:
        mark = Mark(
            str(file_path.resolve()), state, raw, uid_scheme, code_identity(), result.read, result.written,
            dict(result.skipped), result.examples, result.parts, result.kept, result.kept_input,
        )
        # Without its mark (say the disk filled up) the file is only processed again next time.
        with contextlib.suppress(OSError):
            write_mark(out, name, mark)
    return result


def process_files(paths: list[str], out_dir: str | Path, **options: Any) -> list[FileResult]:
    """A task of several files (process_tree's `files_per_task`): each processed as process_file
    does, with its own parts and mark, so a task that stops leaves every file it finished done."""
    return [process_file(path, out_dir, **options) for path in paths]


def _reused(result: FileResult, mark: Mark) -> FileResult:
    result.reused, result.read, result.written, result.parts = True, mark.read, mark.written, mark.parts
    result.skipped.update(mark.skipped)
    result.examples.update(mark.examples)
    result.kept, result.kept_input = mark.kept, mark.kept_input
    return result


def _process(
    file_path: Path,
    out: Path,
    result: FileResult,
    source: str,
    raw: str,
    uid_scheme: str,
) -> None:
    from censorwatch.sources.ooni_files import read_records  # H4's streaming reader

    kept: KeptInput | None = None
    try:
        read_from, link = file_path, None
        if raw != "embed" and is_can_source(file_path):
            if raw == "copy":
                kept = keep_input(file_path, out, file_id(file_path))
                read_from = kept.temporary
            # Taken before the file is read: a file replaced while it is read is not linked to.
            name = kept.relative if kept is not None else str(file_path.resolve())
            link = Link(name, identity_of(read_from))
        with PartWriter(out, file_path, link, uid_scheme) as writer:
            linked_as = link.name if link is not None else None
            for record in read_records(read_from, shown_as=file_path):
                result.read += 1
                if record.measurement is None:
                    result.skip(_reason(record.error), record.location)
                    continue
                try:
                    stored = analysed_record(
                        record.measurement, source, record.raw, linked_as, record.offset, uid_scheme
                    )
                except MalformedMeasurement as error:
                    result.skip(f"not a measurement: {error}", record.location)
                    continue
                writer.add(stored)
                result.written += 1
            if link is not None and identity_of(read_from) != link.identity:
                raise _Changed(f"{file_path} changed while it was read; no parts written for it")
            if kept is not None and result.written:
                kept.publish()  # before the parts that name it
                result.kept = "hard link" if kept.hard_linked else "copy"
                result.kept_input = kept.relative
            result.parts = writer.close()
    except OSError as error:
        result.error = f"{type(error).__name__}: {error}"
    except _Changed as error:
        result.error, result.written = str(error), 0
    finally:
        if kept is not None and result.kept is None:
            kept.discard()


class _Changed(Exception):
    pass


def _reason(error: str | None) -> str:
    # Reasons are counted: keep the kind, not the per-record detail (offsets, values).
    return (error or "unreadable record").split(":")[0].strip()[:80]


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
    uid_scheme: str = NEW_UID_SCHEME,
    redo: bool = False,
) -> ProcessStats:
    """The same output as process_tree, in this process (the baseline and the reference)."""
    _check_options(raw, uid_scheme)
    return _run(
        source, out_dir,
        lambda files: (process_file(p, out_dir, raw=raw, uid_scheme=uid_scheme, redo=redo) for p in files),
        on_file,
    )


def _check_options(raw: str, uid_scheme: str) -> None:
    if raw not in RAW_MODES:
        raise ProcessError(f"raw must be one of {', '.join(RAW_MODES)}, not {raw!r}")
    if uid_scheme not in UID_SCHEMES:
        raise ProcessError(f"uid scheme must be one of {', '.join(UID_SCHEMES)}, not {uid_scheme!r}")


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
    uid_scheme: str = NEW_UID_SCHEME,
    redo: bool = False,
    files_per_task: int = 1,
) -> ProcessStats:
    """One Dask task per file. cluster "local" starts a LocalCluster of n_workers single-threaded
    worker processes (the GIL makes threads useless for parsing JSON) with no dashboard; any
    other value is a scheduler address such as tcp://host:8786. With `files_per_task` above 1, up
    to that many small files share a task (task_groups)."""
    from dask.distributed import Client, as_completed

    _check_options(raw, uid_scheme)
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
            sized = _largest_first(files)
            if files_per_task <= 1:
                small_alone = sum(1 for _, size in sized if size < SMALL_FILE_BYTES)
            groups = [[str(p) for p in group] for group in _grouped(sized, files_per_task)]
            futures = client.map(
                process_files, groups, out_dir=str(out_dir), raw=raw, uid_scheme=uid_scheme, redo=redo, pure=False,
            )
            for future in as_completed(futures):  # type: ignore[no-untyped-call]
                yield from future.result()
        finally:
            client.close()  # type: ignore[no-untyped-call]
            if local is not None:
                local.close()

    stats = _run(source, out_dir, fan_out, on_file)
    stats.small_files_alone = small_alone
    return stats


def task_groups(files: list[Path], files_per_task: int = 1) -> list[list[Path]]:
    """The files in the order their tasks are handed out, largest first: a large file left for
    last would keep one worker busy while the others idle. With files_per_task above 1, up to that
    many files smaller than SMALL_FILE_BYTES share a task; larger files always have one of their
    own. Dask's scheduling costs about 2 ms of the scheduler's CPU per task, as much as a small
    hourly OONI file's whole processing; a group of small files can still cost a lot (a file's
    measurements, not its bytes, make its cost), so groups are bounded by count, and the tail of
    a run by one group (docs/ingest.md)."""
    return _grouped(_largest_first(files), files_per_task)


def _largest_first(files: list[Path]) -> list[tuple[Path, int]]:
    """Each file with its size (one stat each), largest first."""
    return sorted(((path, _size(path)) for path in files), key=lambda sized: sized[1], reverse=True)


def _grouped(sized: list[tuple[Path, int]], files_per_task: int) -> list[list[Path]]:
    if files_per_task <= 1:
        return [[path] for path, _ in sized]
    groups: list[list[Path]] = []
    current: list[Path] = []
    for path, size in sized:
        if size >= SMALL_FILE_BYTES:
            groups.append([path])
            continue
        current.append(path)
        if len(current) == files_per_task:
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups


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


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # process_file reports it


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
