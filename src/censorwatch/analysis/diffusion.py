"""Diffusion: hostnames blocked in one country and later in another, and blocking that followed a
documented request (docs/events.md, "Diffusion").

Hostnames, not URLs, are compared (lists of two countries hardly share URLs: EVENTS-NOTES.md):
the host in lower-case punycode without a leading `www.`. A *blocking* is a detected event's
onset on one network (table `events`), or, when no detection has run, every anomalous or
confirmed measurement. Everything runs in DuckDB; Python only normalises each distinct host once
and reads the requests (a few thousand at most) through the archive's request store."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import duckdb
import pyarrow as pa

from censorwatch.analysis.events.tables import tables_exist
from censorwatch.archive.request_store import RequestStore
from censorwatch.model.registry import NormaliseError, normalise_domain, url_host

SOURCES = ("auto", "events", "measurements")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # UTC, as `events list` writes times
_KEY_SCHEMA = pa.schema([("domain", pa.string()), ("key", pa.string())])
_REQUEST_SCHEMA = pa.schema([
    ("request_id", pa.string()), ("position", pa.int32()), ("requester", pa.string()), ("recipient", pa.string()),
    ("action", pa.string()), ("asked", pa.string()), ("asked_at", pa.timestamp("us")), ("target", pa.string()),
    ("key", pa.string()),
])
_TEMP = ("df_keys", "df_side", "df_requests")


class DiffusionError(ValueError):
    """A question the store cannot answer (say, events asked for and none detected)."""


@dataclass(frozen=True)
class DiffusionQuery:
    to_cc: str
    from_cc: str | None = None  # None: requests only
    since: date | None = None
    source: str = "auto"
    requester: str | None = None
    recipient: str | None = None


def hostname_key(host: str | None) -> str | None:
    """The hostname two countries' blockings are compared by; None for what is not a host name."""
    if not host:
        return None
    try:
        name = normalise_domain(host).ascii
    except NormaliseError:
        return None
    if "." not in name.strip("[]"):
        return None  # a test name or a bare word, not a host
    return name[4:] if name.startswith("www.") and name.count(".") >= 2 else name


def asked_start(text: str) -> datetime:
    """A request's date as the first moment it may mean: YYYY -> 1 January, YYYY-MM -> the 1st."""
    padded = text if len(text) == 10 else text + ("-01" if len(text) == 7 else "-01-01")
    return datetime.fromisoformat(padded)


def _when(value: datetime | None) -> str | None:
    return value.strftime(TIME_FORMAT) if value is not None else None


def _days(value: float | None) -> float | None:
    return round(value, 3) if value is not None else None


def choose_source(con: duckdb.DuckDBPyConnection, asked: str) -> str:
    """Events when a detection run has finished on this store, else measurements."""
    ran = tables_exist(con) and bool(con.execute(
        "SELECT count(*) FROM events_runs WHERE status = 'finished'").fetchall()[0][0])
    if asked == "events" and not ran:
        raise DiffusionError("no finished `censorwatch events detect` run in this store")
    if asked in ("events", "measurements"):
        return asked
    return "events" if ran else "measurements"


def _stage(con: duckdb.DuckDBPyConnection, name: str, schema: pa.Schema, rows: Iterator[tuple[Any, ...]]) -> None:
    columns = ", ".join(f"{field.name} {_SQL_TYPES[str(field.type)]}" for field in schema)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} ({columns})")
    batch: list[tuple[Any, ...]] = []

    def flush() -> None:
        con.register("df_batch", pa.table({f.name: [row[i] for row in batch] for i, f in enumerate(schema)},
                                          schema=schema))
        try:
            con.execute(f"INSERT INTO {name} SELECT * FROM df_batch")
        finally:
            con.unregister("df_batch")
        batch.clear()

    for row in rows:
        batch.append(row)
        if len(batch) >= 20_000:
            flush()
    if batch:
        flush()


_SQL_TYPES = {"string": "VARCHAR", "int32": "INTEGER", "timestamp[us]": "TIMESTAMP"}


def _key_rows(con: duckdb.DuckDBPyConnection, countries: list[str],
              counts: dict[str, int]) -> Iterator[tuple[Any, ...]]:
    cursor = con.cursor()
    cursor.execute("SELECT DISTINCT domain FROM measurements WHERE probe_cc IN (SELECT unnest($ccs)) "
                   "AND domain IS NOT NULL", {"ccs": countries})
    while chunk := cursor.fetchmany(5000):
        for (domain,) in chunk:
            key = hostname_key(domain)
            if key is None:
                counts["unreadable_hosts"] += 1
                continue
            yield domain, key
    cursor.close()


def _request_rows(con: duckdb.DuckDBPyConnection, query: DiffusionQuery,
                  counts: dict[str, int]) -> Iterator[tuple[Any, ...]]:
    for item in RequestStore(con).listed(query.requester, query.recipient):
        request = item["request"]
        asked_at = asked_start(request.date)
        if query.since is not None and asked_at.date() < query.since:
            continue
        for position, target in enumerate(request.targets):
            host = url_host(target.value) if target.kind == "url" else target.value
            key = hostname_key(host) if target.kind in ("url", "domain", "ip") else None
            if key is None:
                counts["request_targets_without_hostname"] += 1
                continue
            yield (request.request_id, position, request.requester, request.recipient, request.action,
                   request.date, asked_at, target.target, key)


def _has_requests(con: duckdb.DuckDBPyConnection) -> bool:
    rows = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'archive_requests' "
                       "AND table_schema = 'main'").fetchall()
    return bool(rows[0][0])


def _blockings(source: str) -> str:
    """(key, cc, asn, onset, uid, blocking) of every blocking in the countries $ccs."""
    if source == "events":
        return """SELECT k.key, e.probe_cc AS cc, e.probe_asn AS asn, e.start_time AS onset, e.first_uid AS uid,
                         e.blocking FROM events e JOIN df_keys k ON k.domain = e.target
                  WHERE e.probe_asn IS NOT NULL AND e.probe_cc IN (SELECT unnest($ccs))"""
    return """SELECT k.key, m.probe_cc AS cc, m.probe_asn AS asn, m.measurement_start_time AS onset,
                     m.measurement_uid AS uid, m.blocking FROM measurements m JOIN df_keys k ON k.domain = m.domain
              WHERE m.probe_cc IN (SELECT unnest($ccs)) AND m.verdict IN ('anomaly', 'confirmed')
                AND m.measurement_start_time IS NOT NULL"""


# The first blocking of each hostname in each of the two countries, computed once for the pairs
# and the counts.
_SIDES = """CREATE OR REPLACE TEMP TABLE df_side AS
WITH b AS ({blockings}), per_net AS (
    SELECT key, cc, asn, min(onset) AS onset, arg_min(uid, (onset, uid)) AS uid,
           arg_min(blocking, (onset, uid)) AS blocking FROM b GROUP BY ALL
)
SELECT key, cc, min(onset) AS first_blocked, arg_min(uid, (onset, asn)) AS uid,
       arg_min(asn, (onset, asn)) AS network, arg_min(blocking, (onset, asn)) AS blocking,
       list(asn ORDER BY onset, asn) AS networks
FROM per_net GROUP BY ALL"""

_SIDE_PAIR = """a AS (SELECT * FROM df_side WHERE cc = $from AND ($since IS NULL OR first_blocked >= $since)),
z AS (SELECT * FROM df_side WHERE cc = $to)"""

# Pairs, with the first measurement of the host in the second country and whether it saw the
# host reachable between the two onsets: when it did not, the lag is only an upper bound (the
# second country may have blocked it unobserved before). The evidence measurements' own times
# come from the store (an event's onset is an estimate before its first evidence).
_PAIRS = f"""WITH {_SIDE_PAIR},
pairs AS (SELECT a.key, a.first_blocked AS a_first, a.uid AS a_uid, a.network AS a_network, a.networks AS a_networks,
                 a.blocking AS a_blocking, z.first_blocked AS z_first, z.uid AS z_uid, z.network AS z_network,
                 z.networks AS z_networks, z.blocking AS z_blocking
          FROM a JOIN z USING (key) WHERE z.first_blocked > a.first_blocked),
seen AS (SELECT p.key, min(m.measurement_start_time) AS first_measured,
                count(*) FILTER (WHERE m.verdict = 'ok' AND m.measurement_start_time >= p.a_first
                                 AND m.measurement_start_time < p.z_first) AS ok_between
         FROM pairs p JOIN df_keys k ON k.key = p.key
         JOIN measurements m ON m.domain = k.domain AND m.probe_cc = $to AND m.verdict IN ('ok', 'anomaly', 'confirmed')
         GROUP BY p.key)
SELECT p.*, s.first_measured, coalesce(s.ok_between, 0) AS ok_between,
       epoch(p.z_first - p.a_first) / 86400.0 AS lag, ma.measurement_start_time AS a_uid_time,
       mz.measurement_start_time AS z_uid_time
FROM pairs p LEFT JOIN seen s USING (key)
LEFT JOIN measurements ma ON ma.measurement_uid = p.a_uid LEFT JOIN measurements mz ON mz.measurement_uid = p.z_uid
ORDER BY p.a_first, p.key"""

_SUMMARY = f"""WITH {_SIDE_PAIR}
SELECT (SELECT count(*) FROM a), (SELECT count(*) FROM z),
       count(*), count(*) FILTER (WHERE z.first_blocked > a.first_blocked),
       count(*) FILTER (WHERE z.first_blocked < a.first_blocked),
       count(*) FILTER (WHERE z.first_blocked = a.first_blocked)
FROM a JOIN z USING (key)"""

# Each request target joined to the blockings of the host in the recipient's country: the first
# at or after the day asked (per network, then overall), the first before it if any, and how
# often the host was measured there since.
_REQUESTS = """WITH b AS ({blockings}),
after AS (SELECT r.request_id, r.position, b.asn, min(b.onset) AS onset, arg_min(b.uid, (b.onset, b.uid)) AS uid
          FROM df_requests r JOIN b ON b.key = r.key AND b.cc = $to AND b.onset >= r.asked_at GROUP BY ALL),
firsts AS (SELECT request_id, position, min(onset) AS first_blocked, arg_min(asn, (onset, asn)) AS network,
                  arg_min(uid, (onset, asn)) AS uid, list(asn ORDER BY onset, asn) AS networks
           FROM after GROUP BY ALL),
before AS (SELECT r.request_id, r.position, min(b.onset) AS blocked_before
           FROM df_requests r JOIN b ON b.key = r.key AND b.cc = $to AND b.onset < r.asked_at GROUP BY ALL),
measured AS (SELECT r.request_id, r.position, count(*) AS n FROM df_requests r JOIN df_keys k ON k.key = r.key
             JOIN measurements m ON m.domain = k.domain AND m.probe_cc = $to AND m.measurement_start_time >= r.asked_at
                  AND m.verdict IN ('ok', 'anomaly', 'confirmed') GROUP BY ALL)
SELECT r.request_id, r.requester, r.recipient, r.action, r.asked, r.asked_at, r.target, r.key,
       f.first_blocked, f.network, f.networks, f.uid, epoch(f.first_blocked - r.asked_at) / 86400.0 AS lag,
       bb.blocked_before, coalesce(ms.n, 0) AS measured_after
FROM df_requests r LEFT JOIN firsts f USING (request_id, position) LEFT JOIN before bb USING (request_id, position)
LEFT JOIN measured ms USING (request_id, position)
ORDER BY r.asked_at, r.request_id, r.position"""


def _side(cc: str, row: dict[str, Any], prefix: str) -> dict[str, Any]:
    return {"country": cc, "first_blocked": _when(row[f"{prefix}_first"]), "uid": row[f"{prefix}_uid"],
            "uid_time": _when(row[f"{prefix}_uid_time"]), "network": row[f"{prefix}_network"],
            "networks": row[f"{prefix}_networks"], "blocking": row[f"{prefix}_blocking"]}


def _pairs(con: duckdb.DuckDBPyConnection, query: DiffusionQuery, source: str,
           params: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, int]]:
    con.execute(_SIDES.format(blockings=_blockings(source)), {"ccs": params["ccs"]})
    own = {key: params[key] for key in ("from", "since", "to")}
    cursor = con.execute(_PAIRS, own)
    names = [column[0] for column in cursor.description or []]
    pairs = []
    while chunk := cursor.fetchmany(5000):
        for values in chunk:
            row = dict(zip(names, values, strict=True))
            pairs.append({
                "hostname": row["key"], "lag_days": _days(row["lag"]), "lag_upper_bound": row["ok_between"] == 0,
                "from": _side(str(query.from_cc), row, "a"),
                "to": {**_side(query.to_cc, row, "z"), "first_measured": _when(row["first_measured"])},
            })
    counts = con.execute(_SUMMARY, own).fetchall()[0]
    summary = dict(zip(("blocked_in_from", "blocked_in_to", "blocked_in_both", "followed", "preceded", "same_time"),
                       (int(value) for value in counts), strict=True))
    return pairs, summary


def _requests(con: duckdb.DuckDBPyConnection, query: DiffusionQuery, source: str,
              params: dict[str, Any]) -> list[dict[str, Any]]:
    cursor = con.execute(_REQUESTS.format(blockings=_blockings(source)), params)
    names = [column[0] for column in cursor.description or []]
    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return [{
        "request_id": row["request_id"], "requester": row["requester"], "recipient": row["recipient"],
        "action": row["action"], "asked": row["asked"], "target": row["target"], "hostname": row["key"],
        "country": query.to_cc, "first_blocked": _when(row["first_blocked"]), "network": row["network"],
        "networks": row["networks"] or [], "uid": row["uid"], "lag_days": _days(row["lag"]),
        "blocked_before_asked": _when(row["blocked_before"]), "measured_after": int(row["measured_after"]),
    } for row in rows]


def diffusion(con: duckdb.DuckDBPyConnection, query: DiffusionQuery) -> dict[str, Any]:
    """Pairs (when `from_cc` is given) and requests, as one JSON-ready document."""
    source = choose_source(con, query.source)
    countries = [cc for cc in (query.from_cc, query.to_cc) if cc]
    counted = {"unreadable_hosts": 0, "request_targets_without_hostname": 0}
    since = datetime.combine(query.since, datetime.min.time()) if query.since else None
    params = {"ccs": countries, "to": query.to_cc}
    result: dict[str, Any] = {
        "from": query.from_cc, "to": query.to_cc, "since": query.since.isoformat() if query.since else None,
        "source": source, "hostname": "lower-case punycode host without a leading www.",
    }
    try:
        _stage(con, "df_keys", _KEY_SCHEMA, _key_rows(con, countries, counted))
        if query.from_cc:
            result["pairs"], result["summary"] = _pairs(
                con, query, source, {**params, "from": query.from_cc, "since": since})
        has_requests = _has_requests(con)
        _stage(con, "df_requests", _REQUEST_SCHEMA,
               _request_rows(con, query, counted) if has_requests else iter(()))
        result["requests"] = _requests(con, query, source, params)
        result["archive"] = has_requests
    finally:
        for name in _TEMP:
            con.execute(f"DROP TABLE IF EXISTS {name}")
    result["counted"] = counted
    return result
