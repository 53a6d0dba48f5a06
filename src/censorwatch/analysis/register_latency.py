"""How fast networks start blocking what Russia's register orders, and what they block that it
does not list (docs/registry.md, "Compliance latency").

A register *entry* here is a name the register orders blocked as a whole: a domain (from an
entry with no URL, a domain block type or the site's root URL: `compliance.covers`), a wildcard
base, a URL, or an address of an entry that names only addresses. It is *listed* from the first
snapshot that holds it (`listed`), was perhaps listed since the snapshot before (`added_after`:
the true moment lies between the two), and is in force until the first snapshot without it, or,
for the latest snapshot, until that snapshot plus a grace of one snapshot interval
(`judged_until`): the register's public copy stopped updating after 2024-03-04, and nothing after
the grace is judged against it, neither as listed nor as unlisted.

Everything runs in DuckDB over temporary tables (allowed on a read-only connection): Python only
normalises the distinct inputs of the country once (the register's normal forms need punycode)."""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa

from censorwatch.model.registry import DUMP
from censorwatch.store.registry import LookupError_, RegistryStore, parse_target

# The public copy of the register (the operators' dump mirrored by Roskomsvoboda's zapret-info)
# stopped updating after this day; blocking is believed to have moved to the central TSPU boxes.
PUBLIC_COPY_FROZEN_AFTER = date(2024, 3, 4)
LAW_DAYS = 1.0  # the law gives operators one day to start blocking (three before 2019)
GRACE_ONE_SNAPSHOT_DAYS = 7.0  # grace when a single snapshot gives no interval
GRACE_MAX_DAYS = 30.0  # past a month, a sparse copy says nothing about what came next
_BLOCKED = "verdict IN ('anomaly', 'confirmed')"
_INPUT_SCHEMA = pa.schema([("input", pa.string()), ("url", pa.string()), ("host", pa.string()),
                           ("parents", pa.list_(pa.string()))])
_TEMP = ("rl_snaps", "rl_units", "rl_inputs", "rl_input_units", "rl_per_unit")


@dataclass(frozen=True)
class LatencyWindow:
    country: str
    since: date | None = None
    until: date | None = None  # last day included
    grace_days: float | None = None  # None: the median interval between stored snapshots
    examples: int = 5


@dataclass
class LatencyReport:
    country: str
    register: dict[str, Any]
    networks: list[dict[str, Any]]
    counted: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"country": self.country, "register": self.register, "networks": self.networks,
                "counted": self.counted, "notes": self.notes}


def grace_days(snapshots: list[date]) -> float:
    """One snapshot interval: the time before the next snapshot would have said otherwise."""
    if len(snapshots) < 2:
        return GRACE_ONE_SNAPSHOT_DAYS
    gaps = [(b - a).days for a, b in itertools.pairwise(snapshots)]
    return float(min(max(statistics.median(gaps), 1.0), GRACE_MAX_DAYS))


def _measured(window: LatencyWindow) -> tuple[str, dict[str, Any]]:
    """The country's measurements with an input and a verdict that says something about
    reachability, in the window; failures say nothing either way (counted apart)."""
    sql = f"""SELECT probe_asn, input, measurement_start_time AS t, measurement_uid AS uid, {_BLOCKED} AS blocked
        FROM measurements WHERE probe_cc = $cc AND input IS NOT NULL AND measurement_start_time IS NOT NULL
          AND verdict IN ('ok', 'anomaly', 'confirmed')
          AND ($since IS NULL OR measurement_start_time >= $since)
          AND ($until IS NULL OR CAST(measurement_start_time AS DATE) <= $until)"""
    return sql, {"cc": window.country, "since": window.since, "until": window.until}


def _stage_snapshots(con: duckdb.DuckDBPyConnection, judged_until: datetime) -> None:
    # A snapshot's moment is its `Updated:` time when the dump gave one (the law counts hours).
    con.execute(
        """CREATE OR REPLACE TEMP TABLE rl_snaps AS
           SELECT snapshot_date, moment, lag(moment) OVER w AS prev_at, coalesce(lead(moment) OVER w, $end) AS next_at
           FROM (SELECT snapshot_date, coalesce(updated, CAST(snapshot_date AS TIMESTAMP)) AS moment
                 FROM registry_snapshots WHERE list_name = $list)
           WINDOW w AS (ORDER BY snapshot_date)""",
        {"list": DUMP, "end": judged_until},
    )


# Register entries as the names they order blocked, with the rules of compliance.covers: a plain
# domain orders the whole domain only for an entry with no URL, a domain block type or the root
# URL (else it marks a host listed for other pages: kind 'host'); a wildcard always covers its
# base and every name under it; a URL covers itself (a domain-wide entry's URLs on its own
# domains add nothing); addresses count only for entries that name nothing else.
_UNITS = """CREATE OR REPLACE TEMP TABLE rl_units AS
WITH e AS (
    SELECT digest, coalesce(domains, []) AS domains, coalesce(urls, []) AS urls, coalesce(ips, []) AS ips,
           (len(coalesce(urls, [])) = 0 OR coalesce(block_type IN ('domain', 'domain-mask'), false)
            OR list_bool_or(list_transform(urls, lambda u: regexp_full_match(u, '[^:/]+://[^/?#]+/')))) AS wide
    FROM registry_entries WHERE list_name = $list
), plain AS (
    SELECT digest, wide, domains, unnest(domains) AS d FROM e
), names AS (
    SELECT digest, CASE WHEN starts_with(d, '*.') THEN 'wildcard' WHEN wide THEN 'domain' ELSE 'host' END AS kind,
           CASE WHEN starts_with(d, '*.') THEN d[3:] ELSE d END AS name FROM plain
    UNION ALL
    SELECT digest, 'url', u FROM (SELECT digest, wide, domains, unnest(urls) AS u FROM e)
    WHERE NOT (wide AND list_contains(domains, regexp_extract(u, '^[^:/]+://([^/?#:]+)', 1)))
    UNION ALL
    SELECT digest, 'ip', unnest(ips) FROM e WHERE len(domains) = 0 AND len(urls) = 0
), spans AS (
    SELECT n.kind, n.name, min(list_min(p.dates)) AS first_date, max(list_max(p.dates)) AS last_date
    FROM names n JOIN registry_presence p USING (digest) WHERE len(p.dates) > 0 GROUP BY ALL
)
SELECT s.kind, s.name, f.snapshot_date AS first_snapshot, f.moment AS listed, f.prev_at AS added_after,
       l.next_at AS until
FROM spans s JOIN rl_snaps f ON f.snapshot_date = s.first_date JOIN rl_snaps l ON l.snapshot_date = s.last_date"""

_INPUT_UNITS = """CREATE OR REPLACE TEMP TABLE rl_input_units AS
SELECT i.input, u.* FROM rl_inputs i JOIN rl_units u ON u.kind = 'url' AND u.name = i.url
UNION ALL
SELECT i.input, u.* FROM rl_inputs i JOIN rl_units u ON u.kind IN ('domain', 'host', 'ip') AND u.name = i.host
UNION ALL
SELECT p.input, u.* FROM (SELECT input, unnest(parents) AS parent FROM rl_inputs) p
    JOIN rl_units u ON u.kind = 'wildcard' AND u.name = p.parent"""


def _input_rows(con: duckdb.DuckDBPyConnection, window: LatencyWindow) -> Iterator[tuple[str, str | None, str | None,
                                                                                          list[str]]]:
    """(input, canonical URL, host, the host and its parents) per distinct input; an input that
    is neither a URL, a domain nor an address gets no URL and no host (counted)."""
    measured, params = _measured(window)
    cursor = con.cursor()
    cursor.execute(f"SELECT DISTINCT input FROM ({measured})", params)
    while chunk := cursor.fetchmany(5000):
        for (text,) in chunk:
            try:
                target = parse_target(text)
            except LookupError_:
                yield text, None, None, []
                continue
            host = target.value if target.kind in ("ip", "domain") else target.host
            is_name = target.kind == "domain" or (host is not None and not host[-1:].isdigit() and "[" not in host)
            labels = host.split(".") if host and is_name else []
            yield (text, target.value if target.kind == "url" else None, host,
                   [".".join(labels[i:]) for i in range(len(labels))])
    cursor.close()


def _stage_inputs(con: duckdb.DuckDBPyConnection, window: LatencyWindow) -> None:
    con.execute("CREATE OR REPLACE TEMP TABLE rl_inputs (input VARCHAR, url VARCHAR, host VARCHAR, parents VARCHAR[])")
    batch: list[tuple[str, str | None, str | None, list[str]]] = []

    def flush() -> None:
        table = pa.table({name: [row[i] for row in batch] for i, name in enumerate(_INPUT_SCHEMA.names)},
                         schema=_INPUT_SCHEMA)
        con.register("rl_batch", table)
        try:
            con.execute("INSERT INTO rl_inputs SELECT * FROM rl_batch")
        finally:
            con.unregister("rl_batch")
        batch.clear()

    for row in _input_rows(con, window):
        batch.append(row)
        if len(batch) >= 20_000:
            flush()
    if batch:
        flush()


def _per_unit(con: duckdb.DuckDBPyConnection, window: LatencyWindow) -> None:
    """Per (network, entry): measurements while listed, the first blocked measurement since the
    entry may have been listed (after the snapshot before its first), and whether it was blocked
    before that (then its blocking did not follow the listing)."""
    measured, params = _measured(window)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE rl_per_unit AS
        WITH m AS ({measured}), j AS (
            SELECT m.*, iu.kind, iu.name, iu.listed, iu.added_after, iu.until,
                   coalesce(iu.added_after, iu.listed) AS maybe_listed
            FROM m JOIN rl_input_units iu USING (input) WHERE iu.kind <> 'host' AND m.t < iu.until
        )
        SELECT probe_asn, kind, name, any_value(listed) AS listed, any_value(added_after) AS added_after,
               count(*) FILTER (WHERE t >= listed) AS measured,
               count(*) FILTER (WHERE t >= listed AND blocked) AS blocked_n,
               min(t) FILTER (WHERE t >= maybe_listed AND blocked) AS first_blocked,
               arg_min(uid, (t, uid)) FILTER (WHERE t >= maybe_listed AND blocked) AS first_uid,
               min(t) FILTER (WHERE t >= maybe_listed) AS first_measured,
               bool_or(blocked AND t < maybe_listed) AS blocked_earlier
        FROM j GROUP BY probe_asn, kind, name""",
        params,
    )


_NETWORKS = """WITH u AS (
    SELECT *, epoch(first_blocked - listed) / 86400.0 AS latency,
           first_blocked IS NOT NULL AND added_after IS NOT NULL AND NOT blocked_earlier AS timed,
           CASE WHEN kind = 'wildcard' THEN '*.' || name ELSE name END AS label
    FROM rl_per_unit
)
SELECT probe_asn,
    count(*) FILTER (WHERE measured > 0 OR first_blocked IS NOT NULL) AS entries_measured,
    count(*) FILTER (WHERE first_blocked IS NOT NULL) AS entries_blocked,
    count(*) FILTER (WHERE blocked_n * 2 > measured) AS entries_mostly_blocked,
    count(*) FILTER (WHERE measured > 0 AND first_blocked IS NULL) AS never_blocked,
    count(*) FILTER (WHERE timed) AS latency_entries,
    quantile_cont(latency, 0.5) FILTER (WHERE timed) AS latency_median_days,
    quantile_cont(latency, 0.9) FILTER (WHERE timed) AS latency_p90_days,
    count(*) FILTER (WHERE timed AND latency <= $law) AS blocked_within_1_day,
    count(*) FILTER (WHERE timed AND first_blocked = first_measured) AS blocked_at_first_measurement,
    count(*) FILTER (WHERE first_blocked IS NOT NULL AND added_after IS NULL) AS listed_before_first_snapshot,
    count(*) FILTER (WHERE first_blocked IS NOT NULL AND added_after IS NOT NULL AND blocked_earlier)
        AS blocked_before_listed,
    list_slice(list(label ORDER BY label) FILTER (WHERE measured > 0 AND first_blocked IS NULL), 1, $n)
        AS never_blocked_examples,
    list_slice(list(label ORDER BY latency DESC, label) FILTER (WHERE timed), 1, $n) AS slowest_examples,
    sum(measured) AS measurements_listed
FROM u GROUP BY probe_asn"""

# Targets blocked while no entry covering them was (perhaps) in force, judged only between the
# first snapshot and judged_until; `host_listed`: the register named other pages of the host
# meanwhile (blocking the whole site for one page).
_UNLISTED = """WITH m AS ({measured}), j AS (
    SELECT m.* FROM m SEMI JOIN rl_inputs r ON r.input = m.input AND (r.url IS NOT NULL OR r.host IS NOT NULL)
        ANTI JOIN rl_input_units c ON m.input = c.input AND c.kind <> 'host'
        AND m.t >= coalesce(c.added_after, c.listed) AND m.t < c.until
    WHERE m.t >= $first AND m.t < $judged_until
), targets AS (
    SELECT probe_asn, input, count(*) FILTER (WHERE blocked) AS b, count(*) FILTER (WHERE NOT blocked) AS o,
           min(t) AS t0, max(t) AS t1
    FROM j GROUP BY ALL
), flagged AS (
    SELECT t.*, EXISTS (SELECT 1 FROM rl_input_units h WHERE h.kind = 'host' AND h.input = t.input
                        AND h.listed <= t.t1 AND h.until > t.t0) AS host_listed
    FROM targets t
)
SELECT probe_asn, count(*) AS unlisted_targets,
       count(*) FILTER (WHERE b > o AND NOT host_listed) AS unlisted_blocked,
       count(*) FILTER (WHERE b > o AND host_listed) AS unlisted_blocked_host_listed,
       list_slice(list(input ORDER BY b DESC, input) FILTER (WHERE b > o AND NOT host_listed), 1, $n)
           AS unlisted_examples
FROM flagged GROUP BY probe_asn"""


def _dicts(cursor: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [column[0] for column in cursor.description or []]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _network(listed: dict[str, Any] | None, unlisted: dict[str, Any] | None, asn: str) -> dict[str, Any]:
    a, b = listed or {}, unlisted or {}

    def share(part: str, whole: str) -> float | None:
        return round(a[part] / a[whole], 4) if a.get(whole) else None

    def days(name: str) -> float | None:
        return round(a[name], 3) if a.get(name) is not None else None

    return {
        "probe_asn": asn,
        "entries_measured": a.get("entries_measured", 0), "entries_blocked": a.get("entries_blocked", 0),
        "blocked_share": share("entries_blocked", "entries_measured"),
        "entries_mostly_blocked": a.get("entries_mostly_blocked", 0), "never_blocked": a.get("never_blocked", 0),
        "latency_entries": a.get("latency_entries", 0), "latency_median_days": days("latency_median_days"),
        "latency_p90_days": days("latency_p90_days"), "blocked_within_1_day": a.get("blocked_within_1_day", 0),
        "blocked_within_1_day_share": share("blocked_within_1_day", "latency_entries"),
        "blocked_at_first_measurement": a.get("blocked_at_first_measurement", 0),
        "listed_before_first_snapshot": a.get("listed_before_first_snapshot", 0),
        "blocked_before_listed": a.get("blocked_before_listed", 0),
        "unlisted_targets": b.get("unlisted_targets", 0), "unlisted_blocked": b.get("unlisted_blocked", 0),
        "unlisted_blocked_host_listed": b.get("unlisted_blocked_host_listed", 0),
        "examples": {"never_blocked": a.get("never_blocked_examples") or [],
                     "slowest": a.get("slowest_examples") or [],
                     "unlisted_blocked": b.get("unlisted_examples") or []},
    }


def _counted(con: duckdb.DuckDBPyConnection, window: LatencyWindow, first: datetime,
             judged_until: datetime) -> dict[str, int]:
    measured, params = _measured(window)
    row = con.execute(
        f"""SELECT count(*), count(*) FILTER (WHERE t < $first), count(*) FILTER (WHERE t >= $judged_until),
                   count(*) FILTER (WHERE i.url IS NULL AND i.host IS NULL)
            FROM ({measured}) m LEFT JOIN rl_inputs i USING (input)""",
        {**params, "first": first, "judged_until": judged_until},
    ).fetchall()[0]
    failures = con.execute(
        "SELECT count(*) FROM measurements WHERE probe_cc = $cc AND verdict = 'failure' "
        "AND ($since IS NULL OR measurement_start_time >= $since) "
        "AND ($until IS NULL OR CAST(measurement_start_time AS DATE) <= $until)", params
    ).fetchall()[0][0]
    unreadable = con.execute("SELECT count(*) FROM rl_inputs WHERE url IS NULL AND host IS NULL").fetchall()[0][0]
    return {"measurements": int(row[0]), "before_first_snapshot": int(row[1]), "after_register": int(row[2]),
            "unreadable_input_measurements": int(row[3]), "unreadable_inputs": int(unreadable),
            "failures": int(failures)}


def _notes(register: dict[str, Any], counted: dict[str, int]) -> list[str]:
    notes = []
    last = date.fromisoformat(register["last_snapshot"])
    after = counted["after_register"]
    if last >= PUBLIC_COPY_FROZEN_AFTER:
        notes.append(
            f"Russia's public register copy stopped updating after {PUBLIC_COPY_FROZEN_AFTER}: the snapshot of "
            f"{last} is its last state, and nothing after {register['judged_until']} is judged against it "
            f"({after} measurements), neither as listed nor as unlisted."
        )
    elif after:
        notes.append(
            f"The stored register ends with the snapshot of {last}: {after} measurements after "
            f"{register['judged_until']} are not judged (ingest later snapshots; Russia's public copy stopped "
            f"updating after {PUBLIC_COPY_FROZEN_AFTER})."
        )
    if counted["before_first_snapshot"]:
        notes.append(f"{counted['before_first_snapshot']} measurements predate the first snapshot "
                     f"({register['first_snapshot']}) and are not judged.")
    if register["snapshots"] < 2:
        notes.append("One snapshot: no entry's listing is observed, so no latency can be measured.")
    return notes


def register_latency(con: duckdb.DuckDBPyConnection, window: LatencyWindow) -> LatencyReport:
    registry = RegistryStore(con)
    snapshots = registry.snapshots(DUMP) if registry.has_data() else []
    if not snapshots:
        raise LookupError_("no register snapshots stored: run `censorwatch ingest registry-ru` first")
    grace = window.grace_days if window.grace_days is not None else grace_days(snapshots)
    last_at = con.execute(
        "SELECT coalesce(updated, CAST(snapshot_date AS TIMESTAMP)) FROM registry_snapshots "
        "WHERE list_name = ? AND snapshot_date = ?", [DUMP, snapshots[-1]]
    ).fetchall()[0][0]
    judged_until: datetime = last_at + timedelta(days=grace)
    try:
        _stage_snapshots(con, judged_until)
        first_at: datetime = con.execute("SELECT min(moment) FROM rl_snaps").fetchall()[0][0]
        con.execute(_UNITS, {"list": DUMP})
        _stage_inputs(con, window)
        con.execute(_INPUT_UNITS)
        _per_unit(con, window)
        measured, params = _measured(window)
        listed = {row["probe_asn"]: row for row in _dicts(con.execute(
            _NETWORKS, {"law": LAW_DAYS, "n": window.examples}))}
        unlisted = {row["probe_asn"]: row for row in _dicts(con.execute(
            _UNLISTED.format(measured=measured),
            {**params, "first": first_at, "judged_until": judged_until, "n": window.examples}))}
        counted = _counted(con, window, first_at, judged_until)
    finally:
        for name in _TEMP:
            con.execute(f"DROP TABLE IF EXISTS {name}")
    register = {
        "list": DUMP, "snapshots": len(snapshots), "first_snapshot": snapshots[0].isoformat(),
        "last_snapshot": snapshots[-1].isoformat(), "grace_days": grace,
        "judged_until": judged_until.isoformat(sep=" "),
        "public_copy_frozen_after": PUBLIC_COPY_FROZEN_AFTER.isoformat(),
        "frozen": snapshots[-1] >= PUBLIC_COPY_FROZEN_AFTER,
    }
    networks = [_network(listed.get(asn), unlisted.get(asn), asn) for asn in sorted(set(listed) | set(unlisted))]
    return LatencyReport(window.country, register, networks, counted, _notes(register, counted))
