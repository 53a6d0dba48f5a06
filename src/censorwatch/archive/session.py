"""One store opened for the archive: its rows (documents, requests), the originals beside it and
where its index lives. A writer sweeps what a killed writer left (temporary originals)."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

import duckdb

from censorwatch.archive.layout import index_directory, originals_directory
from censorwatch.archive.originals import Originals
from censorwatch.archive.request_store import RequestStore
from censorwatch.archive.schema import has_archive
from censorwatch.archive.store import ArchiveStore
from censorwatch.store import Store


class Archive:
    def __init__(self, db: Path, writable: bool = False) -> None:
        self.db = db
        self.writable = writable
        self.store = Store(db, read_only=not writable)
        try:
            self.documents = ArchiveStore(self.store.con, writable=writable)
            self.requests = RequestStore(self.store.con)
            self.exists = has_archive(self.store.con)
        except BaseException:
            self.store.close()
            raise
        self.originals = Originals(originals_directory(db))
        self.index_directory = index_directory(db)
        if writable:
            self.originals.sweep()

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        return self.store.con

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
