"""Writing measurements into the store: idempotent batches, one transaction each, with the cans
their rows point into, the aliases of their uids and the input files they finish; and verdicts
rewritten by re-analysis. A part of Store (store/database.py), which opens the connection."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from censorwatch.model.verdict import Verdict
from censorwatch.store.cans import StagedCan
from censorwatch.store.connection import StoreError, writer_memory_limit
from censorwatch.store.measurement_rows import VERDICT_COLUMNS, StoredMeasurement, batch_table
from censorwatch.store.queries import StoreQueries
from censorwatch.store.read_files import ReadFile, record_reads
from censorwatch.store.schema import COLUMN_NAMES
from censorwatch.store.transaction import transaction

DEFAULT_BATCH = 2000

_INSERT = (
    f"INSERT {{conflict}} INTO measurements ({', '.join(COLUMN_NAMES)}) "
    f"SELECT {', '.join(COLUMN_NAMES)} FROM incoming_batch"
)


class MeasurementWriter(StoreQueries):
    """Store's writing methods, on the connection and cans Store opens."""

    # Copies of gzip files being read (stage_can), by can id, until their rows are added.
    _staged: dict[str, StagedCan]

    def stage_can(self, source: Path) -> StagedCan | None:
        """A copy of a gzip file to read its measurements from, so that rows can point into it
        instead of keeping frames (store/cans.py); None for a store in memory. Raises OSError
        when the file cannot be copied. Give it back with release_can once its rows are added."""
        if self.shelf is None:
            return None
        can = self.shelf.stage(source)
        self._staged[can.can_id] = can
        return can

    def release_can(self, can: StagedCan) -> None:
        """The file's rows have all been added: delete the copy if none of them was new."""
        self._staged.pop(can.can_id, None)
        if self.shelf is not None:
            self.shelf.discard(can)

    def add(
        self, measurements: Iterable[StoredMeasurement], batch_size: int = DEFAULT_BATCH, reads: Sequence[ReadFile] = ()
    ) -> int:
        """Store measurements not stored yet; returns how many were new. Each batch is one
        transaction, so an interrupted run leaves only whole measurements behind. `reads`, input
        files read to the end (store/read_files.py), are recorded in the last batch's transaction:
        with the rows they held, never without them."""
        added = 0
        batch: list[StoredMeasurement] = []
        with self._memory_guard():
            for item in measurements:
                if len(batch) >= batch_size:
                    added += self._insert(batch)
                    batch = []
                batch.append(item)
            added += self._insert(batch, reads)  # the last batch, full or not
        return added

    def record_reads(self, reads: Sequence[ReadFile]) -> None:
        record_reads(self.con, reads)

    def _insert(self, items: list[StoredMeasurement], reads: Sequence[ReadFile] = ()) -> int:
        # Within one batch the same uid may appear twice (a file listing a measurement twice).
        unique = list({item.meta.measurement_uid: item for item in items}.values())
        aliases: list[tuple[str, str]] = []
        if self._aliases_in_use or any(item.also_known_as for item in unique):
            unique, aliases = self._under_aliases(unique)
        if not (unique or aliases or reads):
            return 0
        if unique:
            self.con.register("incoming_batch", batch_table(unique))
        try:
            added = self._commit(unique, aliases, reads)
        finally:
            if unique:
                self.con.unregister("incoming_batch")
        self._aliases_in_use = self._aliases_in_use or bool(aliases)
        return added

    def _commit(
        self, unique: list[StoredMeasurement], aliases: list[tuple[str, str]], reads: Sequence[ReadFile]
    ) -> int:
        """One transaction (one commit, 2.3 to 2.8 ms here, where rows, aliases and reads took one
        each): the rows of `incoming_batch`, then what must never outlive them: the staged cans
        new rows point into (made durable first, store/cans.py), the aliases and the files read.
        Returns how many rows were new."""
        keeping = any(item.can_id in self._staged and not self._staged[item.can_id].kept for item in unique)
        for conflict in ("", "OR IGNORE"):
            try:
                with transaction(self.con):
                    known: set[str] = set()  # rows stored before: they keep no can
                    if conflict and keeping:
                        known = self.known_uids(item.meta.measurement_uid for item in unique)
                    added = self._inserted(_INSERT.format(conflict=conflict)) if unique else 0
                    if keeping:
                        self._keep_cans({item.can_id for item in unique
                                         if item.can_id is not None and item.meta.measurement_uid not in known})
                    if aliases:
                        # One statement: executemany took 2.8 s per 2,000 aliases, this 8 ms.
                        names, targets = zip(*aliases, strict=True)
                        self.con.execute(
                            "INSERT OR IGNORE INTO uid_aliases SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[])",
                            [list(names), list(targets)],
                        )
                    record_reads(self.con, reads)
            except duckdb.ConstraintException:
                if conflict:
                    raise
                # Some were stored before (a re-run); the transaction is undone, and done again
                # skipping them. A plain INSERT first because it takes half the time of INSERT OR
                # IGNORE on OONI-sized rows (bench/bench_ingest.py).
                continue
            return added
        raise AssertionError("unreachable")

    def _under_aliases(
        self, unique: list[StoredMeasurement]
    ) -> tuple[list[StoredMeasurement], list[tuple[str, str]]]:
        """The items to insert, and the aliases to record: a uid that is an alias of a stored
        measurement is stored already; a measurement fetched from OONI's API whose derived uid is
        stored (read from a raw file first) is too, and OONI's uid becomes an alias of it."""
        aliased = self._aliased(item.meta.measurement_uid for item in unique) if self._aliases_in_use else set()
        derived = self.known_uids(item.also_known_as for item in unique if item.also_known_as)
        kept: list[StoredMeasurement] = []
        aliases: list[tuple[str, str]] = []
        for item in unique:
            uid = item.meta.measurement_uid
            if uid in aliased:
                continue
            if item.also_known_as in derived:
                aliases.append((uid, item.also_known_as))
                continue
            kept.append(item)
            if item.also_known_as:
                aliases.append((item.also_known_as, uid))
        return kept, aliases

    def insert_selected(
        self, columns: Iterable[str], select: str, params: list[Any], can: StagedCan | None = None
    ) -> int:
        """INSERT OR IGNORE what the SQL `select` gives for `columns` (`ingest parquet`), in one
        transaction that keeps `can` if any new row points into it; returns how many were new."""
        if self._aliases_in_use:  # rows whose uid is another of a stored measurement's
            select = (f"SELECT * FROM ({select}) AS chosen "
                      "WHERE chosen.measurement_uid NOT IN (SELECT alias FROM uid_aliases)")
        with self._memory_guard(), transaction(self.con):
            added = self._inserted(f"INSERT OR IGNORE INTO measurements ({', '.join(columns)}) {select}", params)
            if added and can is not None:
                self._keep_cans({can.can_id})
        return added

    def update_verdicts(self, verdicts: Iterable[tuple[str, Verdict]]) -> int:
        """Re-analysis: rewrite only the verdict columns of these uids, in one statement (one per
        row took 1.2 ms: 2.3 s per 2,000 rows of the bench's store, this 0.03 s). Returns how many
        rows were rewritten."""
        pairs = list(verdicts)
        if not pairs:
            return 0
        columns = {"measurement_uid": [uid for uid, _ in pairs]}
        for name in VERDICT_COLUMNS:
            columns[name] = [getattr(verdict, name) for _, verdict in pairs]
        self.con.register("new_verdicts", pa.table(columns))
        try:
            assigned = ", ".join(f"{name} = new_verdicts.{name}" for name in VERDICT_COLUMNS)
            rows = self.con.execute(
                f"UPDATE measurements SET {assigned} FROM new_verdicts "
                "WHERE measurements.measurement_uid = new_verdicts.measurement_uid"
            ).fetchall()
        finally:
            self.con.unregister("new_verdicts")
        return int(rows[0][0]) if rows else len(pairs)

    def _inserted(self, sql: str, params: list[Any] | None = None) -> int:
        """Runs an INSERT; returns how many rows it added (DuckDB's own count, which leaves out
        the rows OR IGNORE skipped: no count of the whole table before and after)."""
        found = self.con.execute(sql, params).fetchone()
        return int(found[0]) if found else 0

    @contextmanager
    def _memory_guard(self) -> Iterator[None]:
        """DuckDB holds the parts of the measurement uids' primary-key index that a run touches in
        memory: little when uids arrive in time order, as OONI publishes them, but about 70 bytes
        per measurement stored in the run when they arrive in random order (with a 1 GB limit a
        single run then failed after 13.9 million; docs/ingest.md). The batch that met the limit
        is rolled back and everything before it is stored, so the run can be resumed with a
        larger limit; say so instead of DuckDB's advice about threads."""
        try:
            yield
        except duckdb.Error as error:
            text = str(error)
            if isinstance(error, duckdb.OutOfMemoryException) or "allocate block" in text or "pin block" in text:
                limit = writer_memory_limit()
                raise StoreError(
                    f"the store ran out of memory (CENSORWATCH_DB_MEMORY={limit}): DuckDB keeps the index of "
                    "measurement uids in memory, up to about 70 bytes per measurement stored in one run when "
                    "they arrive out of time order. Everything "
                    "before the last batch is stored; set CENSORWATCH_DB_MEMORY to a larger size (e.g. 4GB) and "
                    "run the same command again to continue."
                ) from error
            raise

    def _keep_cans(self, can_ids: set[str]) -> None:
        cans = [can for can_id in can_ids if (can := self._staged.get(can_id)) is not None and not can.kept]
        if not cans:
            return
        assert self.shelf is not None
        self.shelf.keep(cans)
        # One statement: executemany cost a millisecond per row (bench/bench_ingest.py).
        values = ", ".join(["(?, ?, ?, current_timestamp)"] * len(cans))
        params = [value for can in cans for value in (can.can_id, str(can.source), can.size)]
        self.con.execute(f"INSERT INTO cans VALUES {values}", params)
