"""The archive as the web app reads it: its rows on the request's read-only cursor (ArchiveReader),
its full-text index opened read-only once and kept, and whether private collections are served
(`censorwatch serve --private`).

The index is not reopened per request: ArchiveIndex.search reloads its reader first, which costs
0.03 ms when nothing changed (10,000 documents) and picks up the segments an ingest in another
process committed. Opening costs more (0.3-0.5 ms, plus the analysers' set-up) and is done again
only when the directory itself was replaced (`censorwatch archive reindex` removes and rebuilds
it): its inode changes."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import duckdb
from fastapi import Request

from censorwatch.archive.index import ArchiveIndex, IndexFormatError
from censorwatch.archive.layout import index_directory, originals_directory
from censorwatch.archive.originals import Originals
from censorwatch.archive.request_store import RequestStore
from censorwatch.archive.schema import has_archive
from censorwatch.archive.views import ArchiveReader
from censorwatch.web.memo import memoized


class IndexUnavailable(Exception):
    """The index cannot be read by this version (the message says how to rebuild it)."""


class ArchiveAccess:
    def __init__(self, db: Path, private: bool = False) -> None:
        self.db = db
        self.private = private
        self.directory = index_directory(db)
        self.originals = Originals(originals_directory(db))
        self._lock = threading.Lock()
        self._index: ArchiveIndex | None = None
        self._inode: int | None = None

    def reader(self, cur: duckdb.DuckDBPyConnection) -> ArchiveReader:
        # While the app holds the store open nobody can add the tables: asked once per connection.
        exists = memoized("archive.exists", lambda: has_archive(cur))
        return ArchiveReader(cur, self.originals, RequestStore(cur), exists)

    def index(self) -> ArchiveIndex | None:
        """The index, or None while there is none (no document added yet)."""
        try:
            inode = os.stat(self.directory).st_ino
        except FileNotFoundError:
            return None
        with self._lock:
            if self._index is None or inode != self._inode:
                try:
                    self._index = ArchiveIndex(self.directory)
                except FileNotFoundError:
                    return None
                except IndexFormatError as error:
                    raise IndexUnavailable(f"{error}: run `censorwatch archive reindex`") from error
                self._inode = inode
            return self._index


def archive_of(request: Request) -> ArchiveAccess:
    """The app's ArchiveAccess (create_app puts it in app.state)."""
    access: ArchiveAccess = request.app.state.archive
    return access
