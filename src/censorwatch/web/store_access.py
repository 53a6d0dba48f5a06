"""Read-only access to the DuckDB store for the web app.

DuckDB lets one process write a file, and a read-only open fails while another process holds
it for writing (and a writer cannot open it while we hold it). So the app keeps one read-only
connection while requests come in and closes it after `idle_close` seconds without a request:
`censorwatch probe` / `ingest` can write between bursts of browsing. Each request works on its
own cursor of that connection (a DuckDB connection is not safe to share across threads; its
cursors are). Opening costs ~11 ms on a 10-million-row store and drops DuckDB's cache, which is
why a connection is kept at all (docs/web.md has the figures)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from censorwatch.store.schema_version import refusal
from censorwatch.web.memo import using

MISSING = "missing"
BUSY = "busy"
EMPTY = "empty"
READY = "ready"
# Written by another development build (store/schema_version.py): shown as such, never read.
OUTDATED = "outdated"


class StoreUnavailable(Exception):
    """The store cannot answer: `state` is missing, busy or empty; `message` says what to do."""

    def __init__(self, state: str, message: str) -> None:
        super().__init__(message)
        self.state = state
        self.message = message


@dataclass(frozen=True)
class StoreStatus:
    state: str
    path: str
    message: str
    measurements: int


class StoreAccess:
    def __init__(self, path: Path, idle_close: float = 2.0) -> None:
        self.path = path
        self.idle_close = idle_close
        self._lock = threading.Lock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._memo: dict[str, object] = {}
        self._users = 0
        self._last_release = time.monotonic()
        self._stopped = threading.Event()
        self._reaper: threading.Thread | None = None

    def _open(self) -> duckdb.DuckDBPyConnection:
        if not self.path.exists():
            raise StoreUnavailable(MISSING, f"There is no store at {self.path} yet.")
        try:
            con = duckdb.connect(str(self.path), read_only=True, config={"threads": 1})
        except duckdb.IOException as error:
            if "lock" in str(error).lower():
                raise StoreUnavailable(
                    BUSY, f"The store {self.path} is being written by another program; try again when it is done."
                ) from error
            raise StoreUnavailable(MISSING, f"The store {self.path} cannot be opened: {error}") from error
        why = refusal(con)
        if why is not None:
            con.close()
            raise StoreUnavailable(OUTDATED, f"The store {self.path} {why}.")
        return con

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor for one request. Raises StoreUnavailable (missing, busy) before yielding."""
        with self._lock:
            if self._con is None:
                self._con = self._open()
                self._memo = {}
                self._start_reaper()
            self._users += 1
            cursor = self._con.cursor()
            memo = self._memo
        try:
            with using(memo):
                yield cursor
        finally:
            cursor.close()
            with self._lock:
                self._users -= 1
                self._last_release = time.monotonic()

    def _start_reaper(self) -> None:
        if self._reaper is None or not self._reaper.is_alive():
            self._reaper = threading.Thread(target=self._reap, name="store-idle-close", daemon=True)
            self._reaper.start()

    def _reap(self) -> None:
        while not self._stopped.wait(min(0.5, max(self.idle_close / 2, 0.05))):
            with self._lock:
                idle = time.monotonic() - self._last_release
                if self._con is not None and self._users == 0 and idle >= self.idle_close:
                    self._con.close()
                    self._con = None
                    return

    def is_open(self) -> bool:
        with self._lock:
            return self._con is not None

    def close(self) -> None:
        self._stopped.set()
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None

    def status(self) -> StoreStatus:
        """Never raises: what the home page and /api/v1/status say about the store."""
        try:
            with self.cursor() as cur:
                tables = {row[0] for row in cur.execute("SELECT table_name FROM information_schema.tables").fetchall()}
                if "measurements" not in tables:
                    return StoreStatus(EMPTY, str(self.path), "The store has no measurements yet.", 0)
                row = cur.execute("SELECT count(*) FROM measurements").fetchone()
                count = int(row[0]) if row else 0
        except StoreUnavailable as error:
            return StoreStatus(error.state, str(self.path), error.message, 0)
        if count == 0:
            return StoreStatus(EMPTY, str(self.path), "The store has no measurements yet.", 0)
        return StoreStatus(READY, str(self.path), f"{count} measurements", count)
