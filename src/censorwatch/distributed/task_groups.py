"""How `censorwatch process` hands its input files out to Dask tasks: in which order, and which
small files share a task."""

from __future__ import annotations

from pathlib import Path

# Files below this size (gzipped, as stored) may share a task (task_groups).
SMALL_FILE_BYTES = 1_000_000


def task_groups(files: list[Path], files_per_task: int = 1) -> list[list[Path]]:
    """The files in the order their tasks are handed out, largest first: a large file left for
    last would keep one worker busy while the others idle. With files_per_task above 1, up to that
    many files smaller than SMALL_FILE_BYTES share a task; larger files always have one of their
    own. Dask's scheduling costs about 2 ms of the scheduler's CPU per task, as much as a small
    hourly OONI file's whole processing; a group of small files can still cost a lot (a file's
    measurements, not its bytes, make its cost), so groups are bounded by count, and the tail of
    a run by one group (docs/ingest.md)."""
    return grouped(largest_first(files), files_per_task)


def largest_first(files: list[Path]) -> list[tuple[Path, int]]:
    """Each file with its size (one stat each), largest first."""
    return sorted(((path, _size(path)) for path in files), key=lambda sized: sized[1], reverse=True)


def grouped(sized: list[tuple[Path, int]], files_per_task: int) -> list[list[Path]]:
    """The files (with their sizes, as largest_first gives them) in tasks, as task_groups says."""
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


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # process_file reports it
