"""Reading the register: snapshots, look-ups through the name index, and diffs between
snapshots. Works on a read-only cursor (the web app's); writing is registry_writer's job."""

from __future__ import annotations

import ipaddress
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import duckdb
import orjson

from censorwatch.model.registry import (
    DUMP,
    NXDOMAIN,
    NormaliseError,
    canonical_url,
    normalise_address,
    normalise_domain,
)
from censorwatch.store.registry_schema import DETAIL_FIELDS

_ENTRY_SELECT = ", ".join(f"e.{name}" for name in DETAIL_FIELDS)
DIFF_KINDS = ("added", "removed", "changed")
LISTS = (DUMP, NXDOMAIN)
_IN_CHUNK = 1000


class LookupError_(ValueError):
    """A look-up target that is neither a URL, a domain nor an IP address."""


@dataclass(frozen=True)
class Target:
    kind: str  # "ip", "url" or "domain"
    value: str
    host: str | None = None


def parse_target(text: str) -> Target:
    value = text.strip()
    if not value:
        raise LookupError_("empty target")
    try:
        return Target("ip", str(normalise_address(value.strip("[]"))))
    except NormaliseError:
        pass
    try:
        if "://" in value or "/" in value:
            url = canonical_url(value)
            return Target("url", url, url.split("://", 1)[1].split("/", 1)[0].split(":")[0])
        return Target("domain", normalise_domain(value).ascii)
    except NormaliseError as error:
        raise LookupError_(str(error)) from error


def decision_key(decision: str) -> str:
    """A decision number as entries_citing compares it: no spaces, lower case."""
    return "".join(decision.split()).lower()


def _parents(domain: str) -> list[str]:
    """example.co.uk -> [example.co.uk, co.uk, uk]: the bases a wildcard entry would name."""
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return value


class RegistryStore:
    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self._diff_prepared: tuple[str, date, date] | None = None
        self._dates: dict[str, list[date]] = {}  # snapshot dates per list, read once per store object

    # -- snapshots ------------------------------------------------------------------------------
    def has_data(self) -> bool:
        row = self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'registry_snapshots'"
        ).fetchall()
        if not row[0][0]:
            return False
        found = self.con.execute("SELECT count(*) FROM registry_snapshots").fetchall()
        return bool(found[0][0])

    def snapshots(self, list_name: str = DUMP) -> list[date]:
        rows = self.con.execute(
            "SELECT snapshot_date FROM registry_snapshots WHERE list_name = ? ORDER BY snapshot_date", [list_name]
        ).fetchall()
        return [row[0] for row in rows]

    def snapshot_table(self) -> list[dict[str, Any]]:
        """Every snapshot stored, dates as text (YYYY-MM-DD, updated as YYYY-MM-DD HH:MM:SS UTC)."""
        cursor = self.con.execute(
            "SELECT list_name, snapshot_date, updated, entries, skipped, files FROM registry_snapshots "
            "ORDER BY list_name, snapshot_date"
        )
        names = [d[0] for d in cursor.description]
        return [{k: _jsonable(v) for k, v in zip(names, row, strict=True)} for row in cursor.fetchall()]

    def snapshot_at(self, at: date | None, list_name: str = DUMP) -> date | None:
        """The snapshot in effect on `at`: the latest taken on or before it (latest of all if None)."""
        if list_name not in self._dates:
            self._dates[list_name] = self.snapshots(list_name)
        dates = self._dates[list_name]
        index = len(dates) if at is None else bisect_right(dates, at)
        return dates[index - 1] if index else None

    # -- look-ups -------------------------------------------------------------------------------
    def matches(self, target: Target) -> dict[str, str]:
        """digest -> how it matched, from the name index and the subnet ranges."""
        wanted: dict[tuple[str, str], str] = {}
        if target.kind == "ip":
            wanted[(target.value, "ip")] = "ip"
        else:
            host = target.host if target.kind == "url" else target.value
            if target.kind == "url":
                wanted[(target.value, "url")] = "url"
            if host:
                wanted[(host, "domain")] = "domain"
                if target.kind == "domain":
                    wanted[(host, "host")] = "url on domain"
                for parent in _parents(host):
                    wanted.setdefault((parent, "wildcard"), "wildcard")
        found: dict[str, str] = {}
        # The closest way a digest matches wins (wanted is in that order: URL, domain, wildcard).
        rank = {name: position for position, name in enumerate(wanted)}
        rows = self._in("SELECT value, kind, digest FROM registry_names WHERE value IN",
                        list(dict.fromkeys(v for v, _ in wanted)))
        for value, kind, digest in sorted(rows, key=lambda row: rank.get((row[0], row[1]), len(rank))):
            how = wanted.get((value, kind))
            if how is not None:
                found.setdefault(digest, how)
        if target.kind == "ip":
            address = ipaddress.ip_address(target.value)
            for (digest,) in self.con.execute(
                "SELECT digest FROM registry_subnets WHERE version = ? AND lo <= ?::UHUGEINT AND hi >= ?::UHUGEINT",
                [address.version, str(int(address)), str(int(address))],
            ).fetchall():
                found.setdefault(digest, "subnet")
        return found

    def lookup(self, target: str, at: date | None = None, history: bool = False) -> list[dict[str, Any]]:
        """Entries naming `target` in the snapshot in effect on `at` (default: the latest), or in
        any snapshot with history=True; each with how it matched and its first and last snapshot."""
        in_effect = {name: self.snapshot_at(at, name) for name in LISTS}
        results = []
        for record, dates in self.entries_for(target):
            snapshot = in_effect.get(record["list_name"])
            present = snapshot is not None and snapshot in dates
            if present or history:
                results.append({**record, "snapshot": snapshot.isoformat() if present and snapshot else None})
        results.sort(key=lambda r: (r["last_seen"] or "", r["decision_date"] or ""), reverse=True)
        return results

    def entries_for(self, target: str) -> list[tuple[dict[str, Any], list[date]]]:
        """Every stored entry naming `target` (any snapshot), as (record, its snapshot dates);
        the record says how it matched and the entry's first and last snapshot."""
        found = self.matches(parse_target(target))
        out = []
        for digest, _key, detail, dates, first_seen, last_seen in self._entries(list(found)):
            if not dates:
                continue  # contents of an interrupted ingest: no snapshot holds them
            record = {"match": found[digest], **orjson.loads(detail),
                      "first_seen": _jsonable(first_seen), "last_seen": _jsonable(last_seen)}
            out.append((record, list(dates)))
        return out

    def entries_citing(self, decision: str) -> list[dict[str, Any]]:
        """Every stored entry whose decision is `decision` (a court case such as 2-1066/2016, a
        prosecutor's decision such as 27-31-2015/Ид1093-15), newest first: how a document naming
        a decision finds what it ordered. Compared without spaces and case, as dumps write the
        same number with stray spaces ("27-31-2015/Ид4082-15 ")."""
        wanted = decision_key(decision)
        if not wanted:
            return []
        digests = [row[0] for row in self.con.execute(
            "SELECT digest FROM registry_entries WHERE lower(replace(decision, ' ', '')) = ?", [wanted]).fetchall()]
        records = []
        for _digest, _key, detail, dates, first_seen, last_seen in self._entries(digests):
            if dates:
                records.append({"match": "decision", **orjson.loads(detail), "first_seen": _jsonable(first_seen),
                                "last_seen": _jsonable(last_seen)})
        records.sort(key=lambda r: (r["last_seen"] or "", r["decision_date"] or ""), reverse=True)
        return records

    def _in(self, sql: str, values: list[str]) -> list[tuple[Any, ...]]:
        """`sql` ends in `IN`; DuckDB answers short constant IN lists from the ART index
        (index_scan_max_count is 2,048), so long lists go in chunks."""
        rows: list[tuple[Any, ...]] = []
        for start in range(0, len(values), _IN_CHUNK):
            chunk = values[start:start + _IN_CHUNK]
            rows.extend(self.con.execute(f"{sql} ({', '.join('?' for _ in chunk)})", chunk).fetchall())
        return rows

    def _entries(self, digests: list[str]) -> list[tuple[Any, ...]]:
        """(digest, key, detail, dates, first_seen, last_seen) of each digest: one indexed query
        per table, joined here (a join in SQL scans; 33 ms against 101 ms p50 for >100 entries)."""
        entries = self._in("SELECT digest, key, detail FROM registry_entries WHERE digest IN", digests)
        dates = dict(self._in("SELECT digest, dates FROM registry_presence WHERE digest IN", digests))
        keys = sorted({key for _, key, _ in entries})
        seen = {key: (first, last) for key, first, last in
                self._in("SELECT key, first_seen, last_seen FROM registry_keys WHERE key IN", keys)}
        return [(digest, key, detail, dates.get(digest) or [], *seen.get(key, (None, None)))
                for digest, key, detail in entries]

    # -- diffs ----------------------------------------------------------------------------------
    def diff_dates(self, from_date: date | None, to_date: date | None, list_name: str = DUMP) -> tuple[date, date]:
        dates = self.snapshots(list_name)
        if len(dates) < 2:
            raise LookupError_(f"a diff needs two {list_name} snapshots; {len(dates)} stored")
        to_snapshot = self.snapshot_at(to_date, list_name) if to_date else dates[-1]
        if to_snapshot is None:
            raise LookupError_(f"no snapshot on or before {to_date}")
        if from_date is None:
            earlier = [d for d in dates if d < to_snapshot]
            if not earlier:
                raise LookupError_(f"no snapshot before {to_snapshot}")
            return earlier[-1], to_snapshot
        from_snapshot = self.snapshot_at(from_date, list_name)
        if from_snapshot is None:
            raise LookupError_(f"no snapshot on or before {from_date}")
        return from_snapshot, to_snapshot

    def diff(self, from_date: date | None = None, to_date: date | None = None, limit: int | None = 100,
             list_name: str = DUMP) -> dict[str, Any]:
        """Counts, groups by authority and decision, and up to `limit` entries of each kind
        (None: all of them; 0: none, for callers that stream them with iter_diff_entries)."""
        from_snapshot, to_snapshot = self.diff_dates(from_date, to_date, list_name)
        self._prepare_diff(from_snapshot, to_snapshot, list_name)
        counts = dict.fromkeys(DIFF_KINDS, 0)
        for kind, count in self.con.execute("SELECT kind, count(*) FROM diff_keys GROUP BY kind").fetchall():
            counts[kind] = int(count)
        groups_cursor = self.con.execute(
            "SELECT e.authority, e.decision, e.decision_date, "
            "count(*) FILTER (WHERE d.kind = 'added') AS added, count(*) FILTER (WHERE d.kind = 'removed') AS removed, "
            "count(*) FILTER (WHERE d.kind = 'changed') AS changed "
            "FROM diff_keys d JOIN registry_entries e ON e.digest = d.digest "
            "GROUP BY ALL ORDER BY added + removed + changed DESC, e.authority NULLS LAST, e.decision NULLS LAST"
        )
        group_names = [d[0] for d in groups_cursor.description]
        groups = [
            {k: _jsonable(v) for k, v in zip(group_names, row, strict=True)} for row in groups_cursor.fetchall()
        ]
        entries = {
            kind: list(self.iter_diff_entries(from_snapshot, to_snapshot, kind, limit, list_name)) if limit != 0 else []
            for kind in DIFF_KINDS
        }
        return {
            "list": list_name,
            "from": from_snapshot.isoformat(),
            "to": to_snapshot.isoformat(),
            **counts,
            "groups": groups,
            "entries": entries,
        }

    def _prepare_diff(self, from_snapshot: date, to_snapshot: date, list_name: str) -> None:
        """The differing keys of two snapshots, computed once into a TEMP table (allowed on a
        read-only connection) that the counts, groups and entry lists then read."""
        wanted = (list_name, from_snapshot, to_snapshot)
        if self._diff_prepared == wanted:
            return
        self.con.execute("CREATE OR REPLACE TEMP TABLE diff_keys AS " + _DIFF_SQL,
                         {"list": list_name, "from": from_snapshot, "to": to_snapshot})
        self._diff_prepared = wanted

    def iter_diff_entries(self, from_snapshot: date, to_snapshot: date, kind: str, limit: int | None = None,
                          list_name: str = DUMP) -> Iterator[dict[str, Any]]:
        """Entries of one kind of difference, streamed in batches (a diff across years can hold
        hundreds of thousands)."""
        self._prepare_diff(from_snapshot, to_snapshot, list_name)
        result = self.con.execute(
            f"SELECT d.kind, {_ENTRY_SELECT}, d.addresses_added, d.addresses_removed, d.names_added, "
            "d.names_removed, k.first_seen, k.last_seen "
            "FROM diff_keys d JOIN registry_entries e ON e.digest = d.digest "
            "JOIN registry_keys k ON k.key = d.key WHERE d.kind = $kind "
            "ORDER BY e.authority NULLS LAST, e.decision NULLS LAST, d.key" + (f" LIMIT {int(limit)}" if limit else ""),
            {"kind": kind},
        )
        names = [d[0] for d in result.description]
        while True:
            rows = result.fetchmany(1000)
            if not rows:
                return
            for row in rows:
                yield {key: _jsonable(value) for key, value in zip(names, row, strict=True)}


# Only keys whose set of contents differs between the two snapshots can differ at all; the rest
# (almost all of a week's register) is dropped before any list is built. Per remaining key, the
# union of its addresses (and of its names) on each side decides `changed`: a decision whose IP
# list was updated is the same order, changed; not one removed and one added.
_DIFF_SQL = """WITH pairs AS (
    SELECT key, digest, count(DISTINCT snapshot_date) AS sides FROM registry_members
    WHERE list_name = $list AND snapshot_date IN ($from, $to) GROUP BY key, digest
), moved AS (SELECT DISTINCT key FROM pairs WHERE sides = 1 OR $from = $to),
side AS (
    SELECT m.snapshot_date AS day, m.key, any_value(m.digest) AS digest,
           list_sort(list_distinct(flatten(list(list_concat(e.ips, e.subnets))))) AS addresses,
           list_sort(list_distinct(flatten(list(list_concat(e.urls, e.domains))))) AS names
    FROM registry_members m JOIN moved USING (key) JOIN registry_entries e ON e.digest = m.digest
    WHERE m.list_name = $list AND m.snapshot_date IN ($from, $to)
    GROUP BY m.snapshot_date, m.key
), a AS (SELECT * FROM side WHERE day = $from), b AS (SELECT * FROM side WHERE day = $to)
SELECT coalesce(b.key, a.key) AS key,
       CASE WHEN a.key IS NULL THEN 'added' WHEN b.key IS NULL THEN 'removed' ELSE 'changed' END AS kind,
       coalesce(b.digest, a.digest) AS digest,
       list_filter(coalesce(b.addresses, []), lambda x: NOT list_contains(coalesce(a.addresses, []), x))
           AS addresses_added,
       list_filter(coalesce(a.addresses, []), lambda x: NOT list_contains(coalesce(b.addresses, []), x))
           AS addresses_removed,
       list_filter(coalesce(b.names, []), lambda x: NOT list_contains(coalesce(a.names, []), x)) AS names_added,
       list_filter(coalesce(a.names, []), lambda x: NOT list_contains(coalesce(b.names, []), x)) AS names_removed
FROM a FULL OUTER JOIN b ON a.key = b.key
WHERE a.key IS NULL OR b.key IS NULL OR a.addresses <> b.addresses OR a.names <> b.names
"""
