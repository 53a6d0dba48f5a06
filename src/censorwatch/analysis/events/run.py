"""`events detect`: runs the series detectors over the stored verdicts, incrementally.

A run reads, for each group (target, probe_cc, probe_asn), only the measurements after the time
it had read up to (`through`), resuming from the stored detector state. DuckDB sorts and streams
them group by group; Python holds one group's detectors at a time and writes in batches.

Late arrivals: before reading, DuckDB recounts each group's measurements up to `through` (count
and XOR of row hashes, with the verdict columns in the hash). A group whose figures differ got
measurements late for a period it had processed (or was re-analysed, or lost rows): its state
and network events are dropped in one transaction and it is recomputed from its first
measurement in the same run. Country-wide events are recomputed from the network events at the
end of every run (they are few). A state computed under other parameters or another --since is
recomputed as a whole; so is one that read past a new --until."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb

from censorwatch.analysis.events import tables
from censorwatch.analysis.events.country import CountryParams, country_events
from censorwatch.analysis.events.detector import Event, Params
from censorwatch.analysis.events.series import GroupState, SeriesGroup, Tally
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
    progress: Callable[[int], None] | None = None,
) -> RunSummary:
    tables.ensure(con)
    stored = tables.meta(con)
    if since is None and stored.get("since"):
        since = datetime.fromisoformat(stored["since"])  # the window the state was computed over
    key = f"{params.key()};{country}"
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
    _country(con, country, summary)
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


def _country(con: duckdb.DuckDBPyConnection, params: CountryParams, summary: RunSummary) -> None:
    found: list[Event] = []
    current: tuple[str, str, str] | None = None
    members: list[Event] = []
    for event in tables.network_events(con):
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
