"""The files under the paths given to `archive add`, one at a time, in a stable order (names
sorted within each directory), without ever listing a whole tree in memory.

Only regular files are documents. A FIFO or a device would block or never end when read, a
directory reached through a symbolic link could loop, and a path that cannot be listed or
stat'ed cannot be read: each is reported as skipped with its reason, and the walk goes on. The
store's own files (the DuckDB file and its `.archive` directory) are never added to it."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Found:
    path: Path
    size: int


@dataclass(frozen=True)
class Skipped:
    path: Path
    reason: str


def walk(paths: Sequence[Path], exclude: Sequence[Path] = ()) -> Iterator[Found | Skipped]:
    excluded = {_resolved(path) for path in exclude}
    for path in paths:
        yield from _walk_one(path, excluded, top=True)


def count_files(paths: Sequence[Path], exclude: Sequence[Path] = ()) -> int:
    """How many regular files `walk` will find: a cheap first pass (names and stats only) so
    that the progress bar has a total."""
    return sum(1 for item in walk(paths, exclude) if isinstance(item, Found))


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:
        return path.absolute()


def _walk_one(path: Path, excluded: set[Path], top: bool = False) -> Iterator[Found | Skipped]:
    if _resolved(path) in excluded:
        return
    try:
        link = path.is_symlink()
        info = path.stat()
    except OSError as error:
        yield Skipped(path, f"cannot be read: {error.strerror or error}")
        return
    if stat.S_ISDIR(info.st_mode):
        if link and not top:
            yield Skipped(path, "a symbolic link to a directory (not followed: it could loop)")
            return
        yield from _walk_directory(path, excluded)
    elif stat.S_ISREG(info.st_mode):
        yield Found(path, info.st_size)
    else:
        yield Skipped(path, "not a regular file (a device, a FIFO or a socket)")


def _walk_directory(directory: Path, excluded: set[Path]) -> Iterator[Found | Skipped]:
    try:
        with os.scandir(directory) as entries:
            names = sorted(entry.name for entry in entries)
    except OSError as error:
        yield Skipped(directory, f"cannot be listed: {error.strerror or error}")
        return
    for name in names:
        yield from _walk_one(directory / name, excluded)
