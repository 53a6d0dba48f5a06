"""Crash-safe file writes shared by the spools and the exports.

A file is either wholly there or not there after a crash: write a temporary, fsync it, rename it
over the target, then fsync the directory, because a rename is durable only once the directory
entry itself is synced.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def fsync_dir(path: Path) -> None:
    """Make the directory's entries (a new or renamed file) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def written_whole(target: Path, temporary: Path | None = None) -> Iterator[Path]:
    """Yields the path to write (by default a hidden temporary beside `target`); once the block
    ends without an error the file is fsync'd and renamed over `target`, durably. On an error the
    temporary is removed and `target` is left as it was."""
    temporary = temporary if temporary is not None else target.with_name(f".{target.name}.tmp")
    try:
        yield temporary
        fd = os.open(temporary, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, target)
        fsync_dir(target.parent)
    finally:
        temporary.unlink(missing_ok=True)


def replace_durably(temporary: Path, target: Path, data: bytes) -> None:
    """Write `data` to `temporary`, fsync it and rename it to `target` (same file system), durably."""
    with written_whole(target, temporary) as path:
        path.write_bytes(data)
