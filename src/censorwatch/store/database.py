"""The store: one DuckDB file of measurements with their verdicts, and beside it the directory of
the gzip files it keeps whole (`<file>.cans`, store/cans.py). Store opens and closes them; what
it does between lives in store/measurement_writer.py (writing) and store/queries.py (reading)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import TracebackType

import duckdb

from censorwatch.store.cans import CanShelf, StagedCan, cans_directory
from censorwatch.store.connection import open_connection
from censorwatch.store.measurement_writer import MeasurementWriter


class Store(MeasurementWriter):
    """DuckDB allows one writing process at a time; readers in other processes open the file
    with read_only=True. Raises connection.StoreError for a store another build of censorwatch
    wrote, leaving it as it was."""

    def __init__(self, path: Path | str, read_only: bool = False) -> None:
        self.path = Path(path)
        in_memory = str(path) == ":memory:"
        self.shelf: CanShelf | None = None if in_memory else CanShelf(cans_directory(self.path))
        self._staged: dict[str, StagedCan] = {}
        self.con = open_connection(self.path, read_only)
        if not read_only and self.shelf is not None:
            listed = {row[0] for row in self.con.execute("SELECT can_id FROM cans").fetchall()}
            self.shelf.sweep(listed)
        self._aliases_in_use = not read_only and bool(
            self.con.execute("SELECT EXISTS (SELECT 1 FROM uid_aliases)").fetchall()[0][0]
        )

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @contextmanager
    def one_thread(self) -> Iterator[None]:
        """DuckDB on one thread while inside: an INSERT of a 2,000-row batch ran faster on one
        than on two (100,000 OONI rows in 50 transactions: 0.43 against 0.58 s, twice each; the
        parallel plan costs more than it shares at that size). For ingest's many small batches;
        a load from Parquet or an export keeps DuckDB's threads."""
        threads = self.con.execute("SELECT current_setting('threads')").fetchall()[0][0]
        self.con.execute("SET threads = 1")
        try:
            yield
        finally:
            with suppress(duckdb.Error):  # a connection that failed: its error is the one to see
                self.con.execute(f"SET threads = {int(threads)}")

    def close(self) -> None:
        for can in list(self._staged.values()):
            self.release_can(can)
        self.con.close()
