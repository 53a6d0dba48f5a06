"""Which censorwatch analysed something: a sha256 over every source and data file of the
installed package. A new version, a new verdict rule or new fingerprints change it, so work
recorded as finished by other code is done again (distributed/finished_files.py,
sources/ingest.py)."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path


@cache
def code_identity() -> str:
    """About 1 MB of files, read once per process (a few milliseconds)."""
    root = Path(__file__).parent
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".py", ".json")):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()
