"""Reading the store: counts, which uids it holds (as rows or as aliases of them), and stored rows
streamed with each measurement's JSON read back as received. A part of Store (store/database.py),
which opens the connection these methods use."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import duckdb

from censorwatch.store.cans import CanShelf, InputState
from censorwatch.store.raw_access import RawFetcher
from censorwatch.store.read_files import with_earlier_reads
from censorwatch.store.schema import RAW_COLUMNS


def resolve_uid(con: duckdb.DuckDBPyConnection, uid: str) -> str:
    """`uid`, or the uid of the measurement it is an alias of (table uid_aliases)."""
    rows = con.execute("SELECT measurement_uid FROM uid_aliases WHERE alias = ?", [uid]).fetchall()
    return str(rows[0][0]) if rows else uid


class StoreQueries:
    """Store's reading methods, on the connection and cans Store opens."""

    con: duckdb.DuckDBPyConnection
    shelf: CanShelf | None
    # Whether uid_aliases holds any row: most stores never fetch from OONI's API, and skip the
    # look-ups in it.
    _aliases_in_use: bool

    def raw_fetcher(self) -> RawFetcher:
        return RawFetcher(self.shelf)

    def count(self) -> int:
        rows = self.con.execute("SELECT count(*) FROM measurements").fetchall()
        return int(rows[0][0])

    def resolve_uid(self, uid: str) -> str:
        """The uid a measurement is stored under, for a uid that may be an alias of it."""
        return resolve_uid(self.con, uid)

    def known_uids(self, uids: Iterable[str]) -> set[str]:
        return self._present("measurements", "measurement_uid", uids)

    def held_uids(self, uids: Iterable[str]) -> set[str]:
        """Which of `uids` the store holds, as a row's uid or as an alias of one."""
        wanted = list(uids)
        held = self.known_uids(wanted)
        if self._aliases_in_use:
            held |= self._aliased(uid for uid in wanted if uid not in held)
        return held

    def _aliased(self, uids: Iterable[str]) -> set[str]:
        return self._present("uid_aliases", "alias", uids)

    def _present(self, table: str, column: str, values: Iterable[str]) -> set[str]:
        """Which of `values` the table holds in `column`."""
        wanted = list(values)
        if not wanted:
            return set()
        rows = self.con.execute(f"SELECT {column} FROM {table} WHERE list_contains(?, {column})", [wanted]).fetchall()
        return {row[0] for row in rows}

    def with_earlier_reads(
        self, paths: Iterable[Path], code: str, reread: bool = False
    ) -> Iterator[tuple[Path, InputState | None, int | None]]:
        """Each path with its state before reading and the records of an earlier read of this
        very file that makes reading it again pointless, or None (store/read_files.py)."""
        return with_earlier_reads(self.con, paths, code, reread)

    def iter_measurements(self, where: str = "", params: list[Any] | None = None) -> Iterator[dict[str, Any]]:
        """Stored rows (`where` is an SQL condition, or empty for all) with `raw`, the measurement's
        JSON bytes as received, in place of `raw_zstd` and the can columns. In file order, so
        each can is read once (store/raw_access.py). Raises raw_access.RawUnavailable for a
        measurement whose bytes cannot be read back."""
        sql = (
            f"SELECT * FROM measurements{f' WHERE {where}' if where else ''} "
            "ORDER BY raw_can NULLS FIRST, raw_offset, measurement_uid"
        )
        with self.raw_fetcher() as fetcher:
            for row in self.iter_rows(sql, params):
                row["raw"] = fetcher.raw(row)
                for column in RAW_COLUMNS:
                    row.pop(column, None)
                yield row

    def iter_rows(self, sql: str, params: list[Any] | None = None, chunk: int = 5000) -> Iterator[dict[str, Any]]:
        """Stream a query's rows as dicts without loading the whole result. A cursor of its own,
        so other statements on the store can run while the stream is being read."""
        cursor = self.con.cursor()
        cursor.execute(sql, params or [])
        names = [column[0] for column in cursor.description or []]
        while True:
            rows = cursor.fetchmany(chunk)
            if not rows:
                cursor.close()
                return
            for row in rows:
                yield dict(zip(names, row, strict=True))
