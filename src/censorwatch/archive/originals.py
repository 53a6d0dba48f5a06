"""The original files, byte for byte, addressed by their sha256: `<sha[:2]>/<sha>` under the
originals directory. The same bytes are kept once, whichever collection or parent they came in.

New originals are staged as temporaries and committed together before the rows that name them
(`commit`, called by each batch before its transaction): one syncfs(2) makes every temporary's
bytes durable, the temporaries are renamed to their names (read-only: an original is evidence),
and a second syncfs makes the names durable. So after a crash an original is whole or absent,
never torn, and the only debris is temporaries, which `sweep` removes when a writer opens the
store. Two syncs per batch instead of two fsyncs per file: 200 small files took 0.17 s to
commit against 2.3 s one by one on this machine's ext4 (11.5 ms per file and directory fsync)."""

from __future__ import annotations

import ctypes
import hashlib
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from censorwatch.durable import fsync_dir

CHUNK = 1 << 20
_TEMPORARY_SUFFIX = ".tmp"
_READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH


class OriginalChanged(OSError):
    """The file's bytes changed between hashing and copying (it is being written to)."""


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_of_file(path: Path, chunk: int = CHUNK) -> str:
    """Streams the file: memory stays at one chunk whatever its size."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _sync_filesystem(directory: Path) -> None:
    """syncfs(2) on the file system holding `directory` (Linux); os.sync() elsewhere."""
    syncfs = getattr(_libc(), "syncfs", None)
    if syncfs is None:
        os.sync()
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        if syncfs(fd) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"syncfs failed: {os.strerror(error)}")
    finally:
        os.close(fd)


def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


class Originals:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._staged: dict[str, Path] = {}  # sha256 -> its temporary, until commit

    def path(self, sha256: str) -> Path:
        return self.directory / sha256[:2] / sha256

    def has(self, sha256: str) -> bool:
        return sha256 in self._staged or self.path(sha256).is_file()

    def put(self, data: bytes, sha256: str | None = None) -> str:
        """Stages `data` unless kept already; returns its sha256."""
        digest = sha256 or sha256_of(data)
        if not self.has(digest):
            temporary = self._temporary(digest)
            with temporary.open("wb") as handle:
                handle.write(data)
            self._staged[digest] = temporary
        return digest

    def put_file(self, source: Path, sha256: str) -> None:
        """Stages a file too large to hold in memory, copied in chunks and hashed again on the
        way: a file that changed since it was hashed is refused (OriginalChanged)."""
        if self.has(sha256):
            return
        temporary = self._temporary(sha256)
        digest = hashlib.sha256()
        try:
            with temporary.open("wb") as handle, source.open("rb") as reader:
                while block := reader.read(CHUNK):
                    digest.update(block)
                    handle.write(block)
            if digest.hexdigest() != sha256:
                raise OriginalChanged(f"{source} changed while it was being read")
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        self._staged[sha256] = temporary

    def commit(self) -> int:
        """Makes every staged original durable under its name; returns how many."""
        if not self._staged:
            return 0
        _sync_filesystem(self.directory)
        for digest, temporary in self._staged.items():
            os.chmod(temporary, _READ_ONLY)
            os.replace(temporary, self.path(digest))
        _sync_filesystem(self.directory)
        committed = len(self._staged)
        self._staged.clear()
        return committed

    def delete(self, sha256s: Iterable[str]) -> list[str]:
        """Deletes these originals, durably (a crash must not bring one back once the caller has
        forgotten it); returns those that were there."""
        deleted: list[str] = []
        shards: set[Path] = set()
        for sha256 in sha256s:
            path = self.path(sha256)
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            deleted.append(sha256)
            shards.add(path.parent)
        for shard in sorted(shards):
            fsync_dir(shard)
        return deleted

    def read(self, sha256: str) -> bytes:
        staged = self._staged.get(sha256)
        return (staged or self.path(sha256)).read_bytes()

    def sweep(self) -> int:
        """Removes the temporaries a killed writer left; returns how many. Only a process that
        holds the store open for writing calls it, so no other writer is using them."""
        removed = 0
        if not self.directory.is_dir():
            return 0
        for shard in self.directory.iterdir():
            if not shard.is_dir():
                continue
            for entry in shard.iterdir():
                if entry.name.endswith(_TEMPORARY_SUFFIX):
                    entry.unlink(missing_ok=True)
                    removed += 1
        return removed

    def _temporary(self, sha256: str) -> Path:
        shard = self.path(sha256).parent
        shard.mkdir(parents=True, exist_ok=True)
        return shard / f".{sha256}.{os.getpid()}{_TEMPORARY_SUFFIX}"
