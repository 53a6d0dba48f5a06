"""Compiled pattern databases kept on disk between processes.

Compiling the body fingerprints into one Hyperscan database (body_scanner.py) takes about 0.09 CPU
s, and every process that analyses pays it once: each Dask worker of `censorwatch process`, each
`ingest ooni`, `reanalyse` or web app start. Loading the same database serialized takes 0.05 ms.

One file per purpose (`NAME.hsdb` in the cache directory): a newer fingerprint set or another
Hyperscan replaces the file instead of adding one, so the cache stays a few hundred kilobytes.
The file starts with the sha256 of what it was compiled from (the caller's key) and the sha256
of the database bytes; a file that does not match both is compiled again and replaced. Hyperscan
itself refuses a database of another version or CPU, which is compiled again too. The cache is
an optimisation only: a directory that cannot be read or written means compiling, as before.

The directory is `$CENSORWATCH_CACHE_DIR`, else `$XDG_CACHE_HOME/censorwatch`, else
~/.cache/censorwatch. It holds compiled public fingerprints, nothing about measurements."""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

CACHE_ENV = "CENSORWATCH_CACHE_DIR"
_DIGEST = 32


def cache_directory() -> Path:
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "censorwatch"


def cached_path(name: str) -> Path:
    return cache_directory() / f"{name}.hsdb"


def load_or_compile(
    name: str,
    key: bytes,
    compile_database: Callable[[], Any],
    serialize: Callable[[Any], bytes],
    deserialize: Callable[[bytes], Any | None],
) -> Any:
    """The database `name` compiled from what `key` identifies: from the cache when it holds
    that one and `deserialize` accepts it (None: refused), else compiled, and kept when
    `compile_database` gives one (not None)."""
    path = cached_path(name)
    wanted = hashlib.sha256(key).digest()
    payload = _payload(path, wanted)
    database = deserialize(payload) if payload is not None else None
    if database is not None:
        return database
    database = compile_database()
    if database is not None:
        with contextlib.suppress(OSError):
            _write(path, wanted, serialize(database))
    return database


def _payload(path: Path, wanted: bytes) -> bytes | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    key, digest, payload = data[:_DIGEST], data[_DIGEST:2 * _DIGEST], data[2 * _DIGEST:]
    if key != wanted or hashlib.sha256(payload).digest() != digest:
        return None
    return payload


def _write(path: Path, key: bytes, payload: bytes) -> None:
    """Written under a name of its own and renamed: processes starting together (Dask workers)
    each write a whole file, and a reader never sees half of one."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_bytes(key + hashlib.sha256(payload).digest() + payload)
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)
