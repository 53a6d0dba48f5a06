"""`events detect`: runs the series detectors over the stored verdicts, incrementally.

A run reads, for each group (target, probe_cc, probe_asn), only the measurements after the time
it had read up to (`through`), resuming from the stored detector state. DuckDB sorts and streams
them group by group; Python holds one group's detectors at a time and writes in batches.

Late arrivals: before reading, DuckDB recounts each group's measurements up to `through` (count
and XOR of row hashes, with the verdict columns in the hash). A group whose figures differ got
measurements late for a period it had processed (or was re-analysed, or lost rows): its state
and network events are dropped in one transaction and it is recomputed from its first
measurement in the same run. At the end of every run the network events' onsets are revised with
the pooled onsets of their country (pooled.py; always from the detector's own events, kept in
`own`, and the stored measurements) and the country-wide events recomputed from them. A state
computed under other parameters or another --since is recomputed as a whole; so is one that read
past a new --until."""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from censorwatch.analysis.events import tables
from censorwatch.analysis.events.country import CountryParams, country_events
from censorwatch.analysis.events.detector import Event, Params
from censorwatch.analysis.events.pooled import PoolParams, Scored, SeriesLayer, fetch_span, revise_all
from censorwatch.analysis.events.series import LAYERS, UNKNOWN_LAYER, GroupState, SeriesGroup, Tally
from censorwatch.store.transaction import transaction

TARGET_SQL = "coalesce(domain, input, test_name)"  # as analysis/aggregates.py
ROW_HASH = "hash(measurement_uid, verdict, blocking)"
BATCH_GROUPS = 2000
BATCH_ROWS = 200_000


@dataclass
class RunSummary:
    run_id: int
    mode: str  # "full" or "incremental"
    tally: Tally = field(default_factory=Tally)
    no_time: int = 0
    continued: int = 0
    new: int = 0
    recomputed: int = 0
    network_events: int = 0
    country_events: int = 0
    ongoing: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "mode": self.mode, "rows_read": self.tally.rows, "scored": self.tally.scored,
            "failures": self.tally.failures, "not_analysed": self.tally.not_analysed,
            "unknown_verdict": self.tally.unknown_verdict, "unknown_layer": self.tally.unknown_layer,
            "no_time": self.no_time, "series_continued": self.continued, "series_new": self.new,
            "series_recomputed": self.recomputed, "network_events": self.network_events,
            "country_events": self.country_events, "ongoing": self.ongoing,
        }


def _window(since: datetime | None, until: datetime | None) -> tuple[str, list[Any]]:
    clauses, params = ["measurement_start_time IS NOT NULL"], []
    if since is not None:
        clauses.append("measurement_start_time >= ?")
        params.append(since)
    if until is not None:
        clauses.append("measurement_start_time < ?")
        params.append(until)
    return " AND ".join(clauses), params


def detect(
    con: duckdb.DuckDBPyConnection, since: datetime | None = None, until: datetime | None = None,
    params: Params = Params(), country: CountryParams = CountryParams(), full: bool = False,
    progress: Callable[[int], None] | None = None, pool: PoolParams = PoolParams(),
) -> RunSummary:
    tables.ensure(con)
    stored = tables.meta(con)
    if since is None and stored.get("since"):
        since = datetime.fromisoformat(stored["since"])  # the window the state was computed over
    key = f"{params.key()};{country};{pool}"
    full = full or stored.get("params") != key or stored.get("since", "") != (since.isoformat() if since else "")
    if until is not None and not full:
        beyond = con.execute("SELECT count(*) FROM events_series_state WHERE through >= ?", [until]).fetchall()
        full = bool(beyond[0][0])
    summary = RunSummary(_start_run(con, since, until, full), "full" if full else "incremental")
    if full:
        _reset(con, key, since)
    else:
        summary.recomputed = _drop_changed(con, since)
    summary.no_time = int(con.execute("SELECT count(*) FROM measurements WHERE measurement_start_time IS NULL")
                          .fetchall()[0][0])
    batch: list[tuple[tuple[str, str, str], GroupState, bool]] = []
    events: list[Event] = []
    rows_in_batch = 0
    for group, fresh in _groups(con, params, since, until):
        if fresh:
            summary.new += 1
        else:
            summary.continued += 1
        summary.tally.add(group.tally)
        events.extend(group.events())
        batch.append(((group.target, group.cc, group.asn), group.saved(), fresh))
        rows_in_batch += group.tally.rows
        if len(batch) >= BATCH_GROUPS or rows_in_batch >= BATCH_ROWS:
            tables.write_groups(con, batch, events)
            if progress is not None:
                progress(rows_in_batch)
            batch, events, rows_in_batch = [], [], 0
    if batch:
        tables.write_groups(con, batch, events)
        if progress is not None:
            progress(rows_in_batch)
    summary.new = max(0, summary.new - summary.recomputed)
    _country(con, country, summary, _pool(con, params, country, pool, since, until))
    _finish_run(con, summary)
    return summary


def _start_run(con: duckdb.DuckDBPyConnection, since: datetime | None, until: datetime | None, full: bool) -> int:
    run_id = int(con.execute("SELECT coalesce(max(run_id), 0) + 1 FROM events_runs").fetchall()[0][0])
    con.execute(
        "INSERT INTO events_runs (run_id, started, status, mode, since, until) VALUES (?, ?, 'running', ?, ?, ?)",
        [run_id, tables.now(), "full" if full else "incremental", since, until],
    )
    return run_id


def _finish_run(con: duckdb.DuckDBPyConnection, summary: RunSummary) -> None:
    figures = summary.as_dict()
    names = [name for name in figures if name not in ("run_id", "mode", "ongoing")]
    con.execute(
        f"UPDATE events_runs SET finished = ?, status = 'finished', {', '.join(f'{n} = ?' for n in names)} "
        "WHERE run_id = ?",
        [tables.now(), *(figures[name] for name in names), summary.run_id],
    )


def _reset(con: duckdb.DuckDBPyConnection, key: str, since: datetime | None) -> None:
    """Forget everything computed before, in one transaction with the new parameters: a run
    killed after this starts from scratch again, which is what the parameters ask for."""
    with transaction(con):
        con.execute("DELETE FROM events")
        con.execute("DELETE FROM events_series_state")
        con.execute("INSERT OR REPLACE INTO events_meta VALUES ('params', ?), ('since', ?)",
                    [key, since.isoformat() if since else ""])


def _drop_changed(con: duckdb.DuckDBPyConnection, since: datetime | None) -> int:
    """Drops the state and network events of the groups whose measurements up to `through`
    are no longer those they read; returns how many (they are read again from the start)."""
    where, args = _window(since, None)
    changed = f"""
        SELECT s.target, s.probe_cc, s.probe_asn FROM events_series_state s LEFT JOIN (
            SELECT {TARGET_SQL} AS target, m.probe_cc, m.probe_asn, count(*) AS seen, bit_xor({ROW_HASH}) AS digest
            FROM measurements m JOIN events_series_state s2
              ON {TARGET_SQL} = s2.target AND m.probe_cc = s2.probe_cc AND m.probe_asn = s2.probe_asn
            WHERE {where} AND m.measurement_start_time <= s2.through
            GROUP BY ALL
        ) m USING (target, probe_cc, probe_asn)
        WHERE m.seen IS DISTINCT FROM s.seen OR m.digest IS DISTINCT FROM s.digest"""
    with transaction(con):
        con.execute(f"CREATE OR REPLACE TEMP TABLE ev_changed AS {changed}", args)
        count = int(con.execute("SELECT count(*) FROM ev_changed").fetchall()[0][0])
        if count:
            con.execute("DELETE FROM events e USING ev_changed c WHERE e.target = c.target AND "
                        "e.probe_cc = c.probe_cc AND e.probe_asn = c.probe_asn")
            con.execute("DELETE FROM events_series_state e USING ev_changed c WHERE e.target = c.target AND "
                        "e.probe_cc = c.probe_cc AND e.probe_asn = c.probe_asn")
        con.execute("DROP TABLE ev_changed")
    return count


def _groups(
    con: duckdb.DuckDBPyConnection, params: Params, since: datetime | None, until: datetime | None
) -> Iterator[tuple[SeriesGroup, bool]]:
    """Each group with new measurements, fed with them, and whether it started from scratch.
    One sorted stream: a group's stored state (as a row with no time) comes first, then its new
    measurements in time order. The uid is fetched only for anomalies (evidence)."""
    where, args = _window(since, until)
    sql = f"""
        WITH m AS (
            SELECT {TARGET_SQL} AS target, probe_cc, probe_asn, measurement_start_time AS ts,
                   measurement_uid, verdict, blocking
            FROM measurements WHERE {where}
        ), fresh AS (
            SELECT m.* FROM m LEFT JOIN events_series_state s USING (target, probe_cc, probe_asn)
            WHERE s.through IS NULL OR m.ts > s.through
        )
        SELECT s.target, s.probe_cc, s.probe_asn, NULL::BIGINT AS t, NULL AS verdict, NULL AS blocking,
               NULL AS uid, s.digest AS h, s.state, s.through, s.seen
        FROM events_series_state s SEMI JOIN (SELECT DISTINCT target, probe_cc, probe_asn FROM fresh) f
             USING (target, probe_cc, probe_asn)
        UNION ALL
        SELECT target, probe_cc, probe_asn, epoch_us(ts), verdict, blocking,
               CASE WHEN verdict IN ('anomaly', 'confirmed') THEN measurement_uid END,
               {ROW_HASH}, NULL, NULL, NULL
        FROM fresh
        ORDER BY 1, 2, 3, 4 NULLS FIRST, 7 NULLS LAST, 8
    """
    cursor = con.cursor()
    cursor.execute(sql, args)
    group: SeriesGroup | None = None
    fresh = True
    while chunk := cursor.fetchmany(10_000):
        for target, cc, asn, t, verdict, blocking, uid, digest, state, through, seen in chunk:
            if group is None or group.asn != asn or group.target != target or group.cc != cc:
                if group is not None:
                    yield group, fresh
                stored = None if t is not None else tables.group_state_from(through, seen, digest, state)
                group, fresh = SeriesGroup(params, target, cc, asn, stored), stored is None
                if t is None:
                    continue
            group.add(t, verdict, blocking, uid, digest)
    if group is not None:
        yield group, fresh
    cursor.close()


def _pool(
    con: duckdb.DuckDBPyConnection, params: Params, country: CountryParams, pool: PoolParams,
    since: datetime | None, until: datetime | None,
) -> list[Event]:
    """Revises every network event's onset with the pooled onsets (pooled.py), from the detector's
    events and the stored measurements (so that every run gives what a full one does), writes the
    events that changed and returns them all, in order of (target, probe_cc, layer, start)."""
    stored = list(tables.network_events(con))
    detector = [tables.detector_event(event) for event in stored]
    asns: dict[tuple[str, str, str], set[str | None]] = defaultdict(set)
    for event in detector:
        asns[(event.target, event.probe_cc, event.blocking)].add(event.probe_asn)
    spans: dict[SeriesLayer, list[tuple[int, int]]] = defaultdict(list)
    for event in detector:
        if len(asns[(event.target, event.probe_cc, event.blocking)]) >= country.min_networks:
            assert event.probe_asn is not None
            key = (event.target, event.probe_cc, event.probe_asn, event.blocking)
            spans[key].append(fetch_span(event, country.window_h, pool))
    rows = _scored_rows(con, spans, since, until)

    def rows_of(key: SeriesLayer, lo: int, hi: int) -> list[Scored]:
        times, scored = rows.get(key, ([], []))
        return scored[bisect_right(times, lo):bisect_right(times, hi)]

    revised = revise_all(detector, rows_of, params, country.window_h, country.min_networks, pool)
    before = {(e.target, e.probe_cc, e.probe_asn, e.blocking, e.start): e for e in detector}
    now_stored = {(e.target, e.probe_cc, e.probe_asn, e.blocking, tables.detector_event(e).start): e for e in stored}
    old, new = [], []
    for event in revised:
        own = event.own or event
        identity = (own.target, own.probe_cc, own.probe_asn, own.blocking, own.start)
        assert identity in before
        if now_stored[identity] != event:
            old.append(now_stored[identity])
            new.append(event)
    if new:
        tables.replace_network_events(con, old, new)
    return revised


def _scored_rows(
    con: duckdb.DuckDBPyConnection, spans: dict[SeriesLayer, list[tuple[int, int]]], since: datetime | None,
    until: datetime | None,
) -> dict[SeriesLayer, tuple[list[int], list[Scored]]]:
    """The scored measurements (t, x, uid) of each series at its layer within the spans (lo, hi],
    as the detector saw them (series.py: failures, unanalysed rows and unknown layers are not)."""
    windows: list[tuple[SeriesLayer, int, int]] = []
    for key, parts in spans.items():
        merged: list[list[int]] = []
        for lo, hi in sorted(parts):
            if merged and lo <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        windows.extend((key, lo, hi) for lo, hi in merged)
    out: dict[SeriesLayer, tuple[list[int], list[Scored]]] = {}
    if not windows:
        return out
    cursor = con.cursor()
    cursor.register("ev_windows", pa.table({
        "target": [w[0][0] for w in windows], "probe_cc": [w[0][1] for w in windows],
        "probe_asn": [w[0][2] for w in windows], "layer": [w[0][3] for w in windows],
        "lo": pa.array([w[1] for w in windows], pa.timestamp("us")),
        "hi": pa.array([w[2] for w in windows], pa.timestamp("us")),
    }))
    where, args = _window(since, until)
    layers = ", ".join(f"'{layer}'" for layer in sorted(LAYERS))
    try:
        cursor.execute(f"""
            WITH m AS (
                SELECT {TARGET_SQL} AS target, probe_cc, probe_asn, measurement_start_time AS ts, measurement_uid,
                       verdict, coalesce(blocking, '{UNKNOWN_LAYER}') AS layer, {ROW_HASH} AS h
                FROM measurements WHERE {where} AND (verdict = 'ok' OR (verdict IN ('anomaly', 'confirmed')
                      AND coalesce(blocking, '{UNKNOWN_LAYER}') IN ({layers})))
            )
            SELECT w.target, w.probe_cc, w.probe_asn, w.layer, epoch_us(m.ts),
                   (m.verdict <> 'ok' AND m.layer = w.layer)::INTEGER AS x,
                   CASE WHEN m.verdict <> 'ok' AND m.layer = w.layer THEN m.measurement_uid END AS uid
            FROM m JOIN ev_windows w ON m.target = w.target AND m.probe_cc = w.probe_cc
                 AND m.probe_asn = w.probe_asn AND m.ts > w.lo AND m.ts <= w.hi
            ORDER BY 1, 2, 3, 4, 5, 7 NULLS LAST, m.h""", args)
        while chunk := cursor.fetchmany(10_000):
            for target, cc, asn, layer, t, x, uid in chunk:
                times, scored = out.setdefault((target, cc, asn, layer), ([], []))
                times.append(t)
                scored.append((t, x, uid))
    finally:
        cursor.unregister("ev_windows")
        cursor.close()
    return out


def _country(con: duckdb.DuckDBPyConnection, params: CountryParams, summary: RunSummary,
             network: list[Event]) -> None:
    found: list[Event] = []
    current: tuple[str, str, str] | None = None
    members: list[Event] = []
    for event in network:
        summary.network_events += 1
        summary.ongoing += event.end is None
        key = (event.target, event.probe_cc, event.blocking)
        if key != current:
            found.extend(country_events(members, params))
            current, members = key, []
        members.append(event)
    found.extend(country_events(members, params))
    summary.country_events = len(found)
    tables.replace_country_events(con, found)
