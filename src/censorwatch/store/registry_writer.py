"""Writing register snapshots: entries stream into a staging table in batches, then one
transaction merges them (new contents, their names and subnets, the snapshot's membership) and
rebuilds the derived tables. A killed ingest leaves the previous state untouched.

Ingesting a snapshot again adds only what it lacks (a snapshot split over dump-NN.csv files may
come in several runs); `replace=True` makes the files given the whole snapshot."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import duckdb
import orjson
import pyarrow as pa

from censorwatch.model.registry import RegistryEntry, url_host
from censorwatch.store.arrow_rows import table_from_rows
from censorwatch.store.registry_schema import DERIVED, DETAIL_FIELDS, REGISTRY_SCHEMA

BATCH = 20_000

_ENTRY_SCHEMA = pa.schema(
    [
        ("digest", pa.string()),
        ("key", pa.string()),
        ("list_name", pa.string()),
        ("ips", pa.list_(pa.string())),
        ("subnets", pa.list_(pa.string())),
        ("domains", pa.list_(pa.string())),
        ("domains_unicode", pa.list_(pa.string())),
        ("urls", pa.list_(pa.string())),
        ("authority", pa.string()),
        ("decision", pa.string()),
        ("decision_date", pa.date32()),
        ("content_id", pa.int64()),
        ("include_time", pa.timestamp("us")),
        ("block_type", pa.string()),
        ("detail", pa.string()),
    ]
)
_NAME_SCHEMA = pa.schema([("value", pa.string()), ("kind", pa.string()), ("digest", pa.string())])
_SUBNET_SCHEMA = pa.schema([("version", pa.int8()), ("lo", pa.string()), ("hi", pa.string()), ("digest", pa.string())])


def ensure_registry_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE TABLE IF NOT EXISTS schema_info (key VARCHAR PRIMARY KEY, value VARCHAR)")
    for statement in REGISTRY_SCHEMA:
        con.execute(statement)


def _entry_row(entry: RegistryEntry) -> dict[str, Any]:
    include_time = entry.include_time.astimezone(UTC).replace(tzinfo=None) if entry.include_time else None
    row: dict[str, Any] = {
        "digest": entry.digest,
        "key": entry.key,
        "list_name": entry.list_name,
        "ips": list(entry.ips),
        "subnets": list(entry.subnets),
        "domains": [d.text for d in entry.domains],
        "domains_unicode": [("*." if d.wildcard else "") + d.unicode for d in entry.domains],
        "urls": list(entry.urls),
        "authority": entry.authority,
        "decision": entry.decision,
        "decision_date": entry.decision_date,
        "content_id": entry.content_id,
        "include_time": include_time,
        "block_type": entry.block_type,
    }
    row["detail"] = orjson.dumps({name: row[name] for name in DETAIL_FIELDS}).decode("utf-8")
    return row


def _name_rows(entry: RegistryEntry, digest: str) -> Iterable[dict[str, str]]:
    for domain in entry.domains:
        yield {"value": domain.ascii, "kind": "wildcard" if domain.wildcard else "domain", "digest": digest}
    for url in entry.urls:
        yield {"value": url, "kind": "url", "digest": digest}
        host = url_host(url)
        if host:
            yield {"value": host, "kind": "host", "digest": digest}
    for ip in entry.ips:
        yield {"value": ip, "kind": "ip", "digest": digest}


def _subnet_rows(entry: RegistryEntry, digest: str) -> Iterable[dict[str, Any]]:
    for text in entry.subnets:
        network = ipaddress.ip_network(text)
        yield {
            "version": network.version,
            "lo": str(int(network.network_address)),
            "hi": str(int(network.broadcast_address)),
            "digest": digest,
        }


@dataclass
class SnapshotResult:
    list_name: str
    snapshot_date: date
    read: int
    members_added: int
    new_contents: int
    members_total: int


class SnapshotWriter:
    """Writes one snapshot. Contents (entries, names, subnets) are committed batch by batch: they
    are keyed by digest, so a killed run leaves only rows no snapshot refers to, which look-ups
    ignore and the next run reuses. Which contents the snapshot holds is staged in a temporary
    table and written in one final transaction with the snapshot's row: a snapshot appears whole
    or not at all. (One transaction for everything held 5 GB for a 2-million-entry snapshot.)"""

    def __init__(self, con: duckdb.DuckDBPyConnection, list_name: str, snapshot_date: date,
                 updated: datetime | None, replace: bool = False) -> None:
        self.con = con
        self.list_name = list_name
        self.snapshot_date = snapshot_date
        self.updated = updated
        self.replace = replace
        self.read = 0
        self.new_contents = 0
        self._entries: list[dict[str, Any]] = []
        self._names: list[dict[str, str]] = []
        self._subnets: list[dict[str, Any]] = []
        self._in_transaction = False
        ensure_registry_schema(con)
        self._where: list[Any] = [list_name, snapshot_date]
        rows = con.execute(
            "SELECT files, skipped FROM registry_snapshots WHERE list_name = ? AND snapshot_date = ?", self._where
        ).fetchall()[:1]
        self._previous = rows[0] if rows else None
        con.execute("CREATE OR REPLACE TEMP TABLE stage_members (digest VARCHAR, key VARCHAR)")

    def add(self, entries: Iterable[RegistryEntry]) -> None:
        for entry in entries:
            if entry.list_name != self.list_name:
                raise ValueError(f"a {entry.list_name} entry in a {self.list_name} snapshot")
            row = _entry_row(entry)
            self._entries.append(row)
            self._names.extend(_name_rows(entry, row["digest"]))
            self._subnets.extend(_subnet_rows(entry, row["digest"]))
            self.read += 1
            if len(self._entries) >= BATCH:
                self._flush()

    def _begin(self) -> None:
        self.con.execute("BEGIN TRANSACTION")
        self._in_transaction = True

    def _commit(self) -> None:
        self.con.execute("COMMIT")
        self._in_transaction = False

    def _flush(self) -> None:
        if not self._entries:
            return
        con = self.con
        tables = {
            "batch_entries": table_from_rows(self._entries, _ENTRY_SCHEMA),
            "batch_names": table_from_rows(self._names, _NAME_SCHEMA),
            "batch_subnets": table_from_rows(self._subnets, _SUBNET_SCHEMA),
        }
        for name, table in tables.items():
            con.register(name, table)
        try:
            self._begin()
            con.execute(
                "CREATE OR REPLACE TEMP TABLE batch_new AS SELECT DISTINCT digest FROM batch_entries b "
                "WHERE NOT EXISTS (SELECT 1 FROM registry_entries e WHERE e.digest = b.digest)"
            )
            self.new_contents += self._scalar("SELECT count(*) FROM batch_new")
            con.execute(
                "INSERT INTO registry_entries SELECT * FROM batch_entries b "
                "WHERE b.digest IN (SELECT digest FROM batch_new) "
                "QUALIFY row_number() OVER (PARTITION BY b.digest) = 1"
            )
            con.execute(
                "INSERT INTO registry_names SELECT DISTINCT * FROM batch_names "
                "WHERE digest IN (SELECT digest FROM batch_new)"
            )
            con.execute(
                "INSERT INTO registry_subnets SELECT DISTINCT version, lo::UHUGEINT, hi::UHUGEINT, digest "
                "FROM batch_subnets WHERE digest IN (SELECT digest FROM batch_new)"
            )
            con.execute("DROP TABLE batch_new")
            self._commit()
            con.execute("INSERT INTO stage_members SELECT digest, key FROM batch_entries")
        finally:
            for name in tables:
                con.unregister(name)
        self._entries, self._names, self._subnets = [], [], []

    def rollback(self) -> None:
        """Give up the snapshot: nothing refers to the contents already committed."""
        if self._in_transaction:
            self.con.execute("ROLLBACK")
            self._in_transaction = False
        self.con.execute("DROP TABLE IF EXISTS stage_members")

    def commit(self, files: list[str], skipped: int) -> SnapshotResult:
        try:
            self._flush()
            self._begin()
            if self.replace:
                self.con.execute("DELETE FROM registry_members WHERE list_name = ? AND snapshot_date = ?", self._where)
            before = self._members()
            self.con.execute(
                "INSERT INTO registry_members SELECT DISTINCT ?, ?::DATE, s.digest, s.key FROM stage_members s "
                "WHERE NOT EXISTS (SELECT 1 FROM registry_members m WHERE m.list_name = ? AND m.snapshot_date = ? "
                "AND m.digest = s.digest)",
                self._where + self._where,
            )
            result = self._record(files, skipped, before)
            for statement in DERIVED:
                self.con.execute(statement)
            self._commit()
        except BaseException:
            self.rollback()
            raise
        self.con.execute("DROP TABLE IF EXISTS stage_members")
        return result

    def _scalar(self, sql: str, params: list[Any] | None = None) -> int:
        rows = self.con.execute(sql, params or []).fetchall()
        return int(rows[0][0]) if rows and rows[0][0] is not None else 0

    def _members(self) -> int:
        return self._scalar(
            "SELECT count(*) FROM registry_members WHERE list_name = ? AND snapshot_date = ?", self._where
        )

    def _record(self, files: list[str], skipped: int, before: int) -> SnapshotResult:
        total = self._members()
        previous = None if self.replace else self._previous
        known_files = str(previous[0]).split("\n") if previous is not None and previous[0] else []
        skipped_total = skipped + (int(previous[1] or 0) if previous is not None else 0)
        updated = self.updated.astimezone(UTC).replace(tzinfo=None) if self.updated else None
        self.con.execute("DELETE FROM registry_snapshots WHERE list_name = ? AND snapshot_date = ?", self._where)
        self.con.execute(
            "INSERT INTO registry_snapshots VALUES (?, ?, ?, ?, ?, ?, ?)",
            [*self._where, updated, "\n".join(dict.fromkeys(known_files + files)), total, skipped_total,
             datetime.now(UTC).replace(tzinfo=None)],
        )
        return SnapshotResult(self.list_name, self.snapshot_date, self.read, total - before,
                              self.new_contents, total)
