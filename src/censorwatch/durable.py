"""Crash-safe file writes shared by the probe's upload spool and the collector's spool.

A file is either wholly there or not there after a crash: write a temporary, fsync it, rename it
over the target, then fsync the directory, because a rename is durable only once the directory
entry itself is synced.
"""

from __future__ import annotations

import os
from pathlib import Path


def fsync_dir(path: Path) -> None:
    """Make the directory's entries (a new or renamed file) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_durably(temporary: Path, target: Path, data: bytes) -> None:
    """Write `data` to `temporary`, fsync it and rename it to `target` (same file system), durably."""
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, target)
    fsync_dir(target.parent)
