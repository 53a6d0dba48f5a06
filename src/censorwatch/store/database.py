"""The DuckDB store: idempotent batched inserts of measurements with their verdicts."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb
import pyarrow as pa

from censorwatch.model.measurement import NEW_UID_SCHEME, UID_SCHEMES, UNRECORDED_UID_SCHEME, MeasurementMeta
from censorwatch.model.verdict import Verdict
from censorwatch.store.cans import CanShelf, InputState, StagedCan, cans_directory
from censorwatch.store.raw_access import RawFetcher
from censorwatch.store.raw_codec import compress
from censorwatch.store.read_files import ReadFile, record_reads, with_earlier_reads
from censorwatch.store.schema import COLUMN_NAMES, RAW_COLUMNS, SCHEMA_STATEMENTS
from censorwatch.store.upgrade import columns_of, needs_upgrade, stored_version, upgrade

DEFAULT_BATCH = 2000
# DuckDB checkpoints each time its write-ahead log passes 16 MB; with OONI-sized rows that came
# every few batches and doubled the time inserts took (bench/bench_ingest.py: 1.85 -> 0.98 CPU
# seconds for 50,000 measurements at 256 MB, with the same peak memory).
CHECKPOINT_THRESHOLD = "256MB"
# DuckDB keeps the blocks it has written in its buffer pool up to 80 % of RAM: ingesting 100,000
# OONI measurements held 605 MiB, 20,000 held 377 (bench/bench_ingest.py); a 128 MB cap held
# both at 360-370 MiB at the same speed. A writer capped at 1 GB stays bounded whatever it
# ingests; the cap leaves room for the primary-key index of some ten million measurements, and
# DuckDB spills larger sorts and aggregates to disk. $CENSORWATCH_DB_MEMORY overrides it (a DuckDB
# size such as "4GB"). Read-only connections (the web app) keep DuckDB's default.
WRITER_MEMORY_LIMIT = "1GB"


def writer_memory_limit() -> str:
    return os.environ.get("CENSORWATCH_DB_MEMORY") or WRITER_MEMORY_LIMIT


def default_db_path() -> Path:
    """`$CENSORWATCH_DB`, else ~/.local/share/censorwatch/censorwatch.duckdb (XDG data home)."""
    explicit = os.environ.get("CENSORWATCH_DB")
    if explicit:
        return Path(explicit)
    data_home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return data_home / "censorwatch" / "censorwatch.duckdb"


@dataclass(frozen=True)
class StoredMeasurement:
    meta: MeasurementMeta
    # The measurement's UTF-8 JSON, exactly as received; empty when it lies in a can.
    raw: bytes | memoryview
    verdict: Verdict
    source: str
    # Set when the JSON lies in a can the store keeps (store/cans.py): the can, where the JSON
    # begins in its decompressed stream and how long it is. A batch then holds no JSON, however
    # large the measurements. Otherwise the row keeps `raw` as a zstd frame. (In a Parquet part
    # linked to its input file, distributed/parts.py, `can_id` is that file.)
    can_id: str | None = None
    offset: int | None = None
    length: int | None = None
    # The uid derived from its JSON, when it is stored under another (OONI's, for a measurement
    # fetched from OONI's API): the same measurement read from a raw file has this uid, and is
    # recognised as stored (Store.add, table uid_aliases).
    also_known_as: str | None = None

    def row(self) -> dict[str, Any]:
        """The row as a dict (tests and benchmarks build tables from it): batch_table's columns,
        without the raw columns this row does not use."""
        row: dict[str, Any] = batch_table([self]).to_pylist()[0]
        return {name: value for name, value in row.items() if value is not None or name not in RAW_COLUMNS}

    def stored_as(self, uid: str, also_known_as: str | None = None) -> StoredMeasurement:
        """The same row under another uid (one a collector gave, or OONI's)."""
        return replace(self, meta=replace(self.meta, measurement_uid=uid), also_known_as=also_known_as)


_ARROW_TYPES = {
    "measurement_start_time": pa.timestamp("us"),
    "raw_zstd": pa.binary(),
    "raw_offset": pa.int64(),
    "raw_length": pa.int64(),
}
ARROW_SCHEMA = pa.schema(
    [
        (name, _ARROW_TYPES.get(name, pa.string()))
        for name in COLUMN_NAMES
    ]
)


def batch_table(
    items: list[StoredMeasurement], schema: pa.Schema = ARROW_SCHEMA, frames: list[bytes | None] | None = None
) -> pa.Table:
    """The batch as an Arrow table, column by column straight from the items: a dict per row
    first (StoredMeasurement.row, then arrow_rows) cost twice as much (bench/bench_ingest.py).
    `schema` is ARROW_SCHEMA or some of its fields (Parquet parts leave the can columns out);
    `frames` are the items' zstd frames when the caller has made them already (None for an item
    whose JSON lies in a file)."""
    metas = [item.meta for item in items]
    verdicts = [item.verdict for item in items]
    columns: dict[str, list[Any]] = {
        name: [getattr(meta, name) for meta in metas] for name in _META_COLUMNS
    }
    columns["measurement_start_time"] = [
        None if meta.measurement_start_time is None else meta.measurement_start_time.replace(tzinfo=None)
        for meta in metas
    ]
    columns["source"] = [item.source for item in items]
    if frames is not None:
        columns["raw_zstd"] = frames
    elif any(item.can_id is None for item in items):
        columns["raw_zstd"] = [compress(item.raw) if item.can_id is None else None for item in items]
    if any(item.can_id is not None for item in items):
        columns["raw_can"] = [item.can_id for item in items]
        columns["raw_offset"] = [item.offset for item in items]
        columns["raw_length"] = [item.length for item in items]
    for name in VERDICT_COLUMNS:
        columns[name] = [getattr(verdict, name) for verdict in verdicts]
    count = len(items)
    return pa.Table.from_arrays(
        [
            pa.array(columns[field.name], field.type) if field.name in columns else pa.nulls(count, field.type)
            for field in schema
        ],
        schema=schema,
    )


_META_COLUMNS = (
    "measurement_uid", "report_id", "input", "domain", "test_name", "test_version", "probe_cc", "probe_asn",
    "probe_network_name", "software_name", "software_version",
)
VERDICT_COLUMNS = ("verdict", "blocking", "fingerprint", "reason", "ooni_blocking", "analyzer_version")

_INSERT = (
    f"INSERT {{conflict}} INTO measurements ({', '.join(COLUMN_NAMES)}) "
    f"SELECT {', '.join(COLUMN_NAMES)} FROM incoming_batch"
)


def resolve_uid(con: duckdb.DuckDBPyConnection, uid: str) -> str:
    """`uid`, or the uid of the measurement it is an alias of (table uid_aliases; a store no
    writer has opened since aliases exist has none)."""
    if not columns_of(con, "uid_aliases"):
        return uid
    rows = con.execute("SELECT measurement_uid FROM uid_aliases WHERE alias = ?", [uid]).fetchall()
    return str(rows[0][0]) if rows else uid


class StoreError(RuntimeError):
    """The store cannot be used as asked (for example: it needs an upgrade and was opened read-only)."""


class Store:
    """One DuckDB file, and beside it the directory of the gzip files it keeps whole
    (`<file>.cans`, store/cans.py). DuckDB allows one writing process at a time; readers in
    other processes open it with read_only=True."""

    def __init__(self, path: Path | str, read_only: bool = False) -> None:
        self.path = Path(path)
        in_memory = str(path) == ":memory:"
        self.shelf: CanShelf | None = None if in_memory else CanShelf(cans_directory(self.path))
        self._staged: dict[str, StagedCan] = {}
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.con = duckdb.connect(str(self.path), read_only=read_only)
        if not read_only:
            self.con.execute(f"SET checkpoint_threshold = '{CHECKPOINT_THRESHOLD}'")
            limit = writer_memory_limit()
            try:
                self.con.execute("SET memory_limit = ?", [limit])
            except duckdb.Error as error:
                self.con.close()
                raise StoreError(
                    f"CENSORWATCH_DB_MEMORY={limit!r} is not a memory size DuckDB understands (e.g. 4GB): {error}"
                ) from error
            existed = bool(columns_of(self.con, "measurements"))
            for statement in SCHEMA_STATEMENTS:
                self.con.execute(statement)
            # A store made before schemes were recorded derived its uids from sorted JSON, and
            # keeps doing so: a measurement ingested again must find its first uid.
            self.con.execute(
                "INSERT OR IGNORE INTO schema_info VALUES ('uid_scheme', ?)",
                [UNRECORDED_UID_SCHEME if existed else NEW_UID_SCHEME],
            )
            upgrade(self.con)
            if self.shelf is not None:
                listed = {row[0] for row in self.con.execute("SELECT can_id FROM cans").fetchall()}
                self.shelf.sweep(listed)
        elif needs_upgrade(self.con):
            version = stored_version(self.con)
            self.con.close()
            raise StoreError(
                f"{self.path} was written by an older censorwatch (schema version {version}); open it for "
                "writing once (for example `censorwatch ingest ooni --db PATH` with no files) to upgrade it"
            )
        self.uid_scheme = self._uid_scheme()
        self._aliases_in_use = not read_only and bool(
            self.con.execute("SELECT EXISTS (SELECT 1 FROM uid_aliases)").fetchall()[0][0]
        )
        if not read_only and self.uid_scheme not in UID_SCHEMES:
            self.con.close()
            raise StoreError(
                f"{self.path} derives uids by {self.uid_scheme!r}, which this censorwatch does not know "
                f"(it knows {', '.join(UID_SCHEMES)}): it was written by a newer version; use that one to write to it"
            )

    def _uid_scheme(self) -> str:
        """How this store derives the uid of a measurement that carries none (model/measurement.py)."""
        if not columns_of(self.con, "schema_info"):
            return NEW_UID_SCHEME  # nothing stored yet, and read-only: nothing to match
        rows = self.con.execute("SELECT value FROM schema_info WHERE key = 'uid_scheme'").fetchall()
        return str(rows[0][0]) if rows else UNRECORDED_UID_SCHEME

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
                with self._transaction():
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

    def _aliased(self, uids: Iterable[str]) -> set[str]:
        return self._present("uid_aliases", "alias", uids)

    def resolve_uid(self, uid: str) -> str:
        """The uid a measurement is stored under, for a uid that may be an alias of it."""
        return resolve_uid(self.con, uid)

    def insert_selected(
        self, columns: Iterable[str], select: str, params: list[Any], can: StagedCan | None = None
    ) -> int:
        """INSERT OR IGNORE what the SQL `select` gives for `columns` (`ingest parquet`), in one
        transaction that keeps `can` if any new row points into it; returns how many were new."""
        if self._aliases_in_use:  # rows whose uid is another of a stored measurement's
            select = (f"SELECT * FROM ({select}) AS chosen "
                      "WHERE chosen.measurement_uid NOT IN (SELECT alias FROM uid_aliases)")
        with self._memory_guard(), self._transaction():
            added = self._inserted(f"INSERT OR IGNORE INTO measurements ({', '.join(columns)}) {select}", params)
            if added and can is not None:
                self._keep_cans({can.can_id})
        return added

    def _inserted(self, sql: str, params: list[Any] | None = None) -> int:
        """Runs an INSERT; returns how many rows it added (DuckDB's own count, which leaves out
        the rows OR IGNORE skipped: no count of the whole table before and after)."""
        found = self.con.execute(sql, params).fetchone()
        return int(found[0]) if found else 0

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield
            self.con.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        with suppress(duckdb.TransactionException):  # a commit that failed ended the transaction already
            self.con.execute("ROLLBACK")

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

    def raw_fetcher(self) -> RawFetcher:
        return RawFetcher(self.shelf)

    def count(self) -> int:
        rows = self.con.execute("SELECT count(*) FROM measurements").fetchall()
        return int(rows[0][0])

    def with_earlier_reads(
        self, paths: Iterable[Path], code: str, reread: bool = False
    ) -> Iterator[tuple[Path, InputState | None, int | None]]:
        """Each path with its state before reading and the records of an earlier read of this
        very file that makes reading it again pointless, or None (store/read_files.py)."""
        return with_earlier_reads(self.con, paths, code, reread)

    def record_reads(self, reads: Sequence[ReadFile]) -> None:
        record_reads(self.con, reads)

    def known_uids(self, uids: Iterable[str]) -> set[str]:
        return self._present("measurements", "measurement_uid", uids)

    def held_uids(self, uids: Iterable[str]) -> set[str]:
        """Which of `uids` the store holds, as a row's uid or as an alias of one."""
        wanted = list(uids)
        held = self.known_uids(wanted)
        if self._aliases_in_use:
            held |= self._aliased(uid for uid in wanted if uid not in held)
        return held

    def _present(self, table: str, column: str, values: Iterable[str]) -> set[str]:
        """Which of `values` the table holds in `column`."""
        wanted = list(values)
        if not wanted:
            return set()
        rows = self.con.execute(f"SELECT {column} FROM {table} WHERE list_contains(?, {column})", [wanted]).fetchall()
        return {row[0] for row in rows}

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
