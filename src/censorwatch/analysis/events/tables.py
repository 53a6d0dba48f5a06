"""The event tables of the store, made idempotently by `ensure`, and the writes that keep them
consistent: a group's detector state and its network events change in one transaction, so a
killed run leaves every group either as it was or fully advanced.

* events: one row per event; probe_asn NULL for a country-wide one (recomputed from the network
  events at the end of every run). end_time NULL while ongoing.
* events_series_state: per (target, probe_cc, probe_asn): the detectors' state as JSON, how far
  they have read (`through`), and the count and XOR of row hashes of what they read, which tell
  a later run whether measurements arrived late or verdicts changed (then the group is recomputed).
* events_runs: one row per run, with what it read and what it could not use.
* events_meta: the parameters and window the state was computed under."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import duckdb
import orjson
import pyarrow as pa

from censorwatch.analysis.events.detector import Event
from censorwatch.analysis.events.series import GroupState
from censorwatch.store.transaction import transaction

DDL = (
    """CREATE TABLE IF NOT EXISTS events (
        target VARCHAR NOT NULL, probe_cc VARCHAR NOT NULL, probe_asn VARCHAR, blocking VARCHAR NOT NULL,
        start_time TIMESTAMP NOT NULL, end_time TIMESTAMP, start_observed BOOLEAN NOT NULL,
        confidence DOUBLE NOT NULL, networks VARCHAR[] NOT NULL,
        before_measurements BIGINT NOT NULL, before_anomalous BIGINT NOT NULL,
        measurements BIGINT NOT NULL, anomalous BIGINT NOT NULL, confirmed BIGINT NOT NULL,
        first_uid VARCHAR, last_uid VARCHAR, detected TIMESTAMP NOT NULL, own VARCHAR)""",
    # Stores made before the pooled onsets (their events are recomputed: the parameters changed).
    "ALTER TABLE events ADD COLUMN IF NOT EXISTS own VARCHAR",
    """CREATE TABLE IF NOT EXISTS events_series_state (
        target VARCHAR NOT NULL, probe_cc VARCHAR NOT NULL, probe_asn VARCHAR NOT NULL,
        through TIMESTAMP NOT NULL, seen BIGINT NOT NULL, digest UBIGINT NOT NULL, state VARCHAR NOT NULL,
        PRIMARY KEY (target, probe_cc, probe_asn))""",
    """CREATE TABLE IF NOT EXISTS events_runs (
        run_id BIGINT PRIMARY KEY, started TIMESTAMP NOT NULL, finished TIMESTAMP, status VARCHAR NOT NULL,
        mode VARCHAR NOT NULL, since TIMESTAMP, until TIMESTAMP, rows_read BIGINT, scored BIGINT,
        failures BIGINT, not_analysed BIGINT, unknown_verdict BIGINT, unknown_layer BIGINT, no_time BIGINT,
        series_continued BIGINT, series_new BIGINT, series_recomputed BIGINT,
        network_events BIGINT, country_events BIGINT)""",
    "CREATE TABLE IF NOT EXISTS events_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)",
)

EVENT_COLUMNS = (
    "target", "probe_cc", "probe_asn", "blocking", "start_time", "end_time", "start_observed", "confidence",
    "networks", "before_measurements", "before_anomalous", "measurements", "anomalous", "confirmed",
    "first_uid", "last_uid", "detected", "own",
)
# What the pooled onset revises in a network event (the rest is the detector's): `own` holds these
# fields of the detector's event, as JSON, when they differ.
OWN_FIELDS = ("start", "first_uid", "before_measurements", "before_anomalous", "measurements", "anomalous")
_EVENT_SCHEMA = pa.schema([
    ("target", pa.string()), ("probe_cc", pa.string()), ("probe_asn", pa.string()), ("blocking", pa.string()),
    ("start_time", pa.timestamp("us")), ("end_time", pa.timestamp("us")), ("start_observed", pa.bool_()),
    ("confidence", pa.float64()), ("networks", pa.list_(pa.string())),
    ("before_measurements", pa.int64()), ("before_anomalous", pa.int64()), ("measurements", pa.int64()),
    ("anomalous", pa.int64()), ("confirmed", pa.int64()), ("first_uid", pa.string()), ("last_uid", pa.string()),
    ("detected", pa.timestamp("us")), ("own", pa.string()),
])
_STATE_SCHEMA = pa.schema([
    ("target", pa.string()), ("probe_cc", pa.string()), ("probe_asn", pa.string()), ("through", pa.timestamp("us")),
    ("seen", pa.int64()), ("digest", pa.uint64()), ("state", pa.string()), ("fresh", pa.bool_()),
])


def ensure(con: duckdb.DuckDBPyConnection) -> None:
    for statement in DDL:
        con.execute(statement)


def tables_exist(con: duckdb.DuckDBPyConnection) -> bool:
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name IN ('events', 'events_series_state')"
    ).fetchall()
    return int(found[0][0]) == 2


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def meta(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return {str(key): str(value) for key, value in con.execute("SELECT key, value FROM events_meta").fetchall()}


def events_table(events: Iterable[Event]) -> pa.Table:
    rows = list(events)
    columns: dict[str, list[Any]] = {
        "target": [e.target for e in rows], "probe_cc": [e.probe_cc for e in rows],
        "probe_asn": [e.probe_asn for e in rows], "blocking": [e.blocking for e in rows],
        "start_time": [e.start for e in rows], "end_time": [e.end for e in rows],
        "start_observed": [e.start_observed for e in rows], "confidence": [e.confidence for e in rows],
        "networks": [e.networks for e in rows],
        "before_measurements": [e.before_measurements for e in rows],
        "before_anomalous": [e.before_anomalous for e in rows], "measurements": [e.measurements for e in rows],
        "anomalous": [e.anomalous for e in rows], "confirmed": [e.confirmed for e in rows],
        "first_uid": [e.first_uid for e in rows], "last_uid": [e.last_uid for e in rows],
        "detected": [e.detected for e in rows], "own": [_own_json(e.own) for e in rows],
    }
    return pa.table(columns, schema=_EVENT_SCHEMA)


def _own_json(own: Event | None) -> str | None:
    return None if own is None else orjson.dumps({name: getattr(own, name) for name in OWN_FIELDS}).decode()


def detector_event(event: Event) -> Event:
    """The event as the detector made it, before any pooled revision."""
    return event if event.own is None else replace(event, own=None, **{
        name: getattr(event.own, name) for name in OWN_FIELDS})


def group_state_json(state: GroupState) -> str:
    return orjson.dumps({"scored": state.scored, "last_t": state.last_t, "layers": state.layers}).decode()


def group_state_from(through: datetime, seen: int, digest: int, text: str) -> GroupState:
    data = orjson.loads(text)
    return GroupState(
        scored=data["scored"], last_t=data["last_t"], seen=seen, digest=digest,
        through=_epoch_us(through), layers=data["layers"],
    )


def _epoch_us(value: datetime) -> int:
    return int(value.replace(tzinfo=UTC).timestamp()) * 1_000_000 + value.microsecond


def write_groups(
    con: duckdb.DuckDBPyConnection, groups: list[tuple[tuple[str, str, str], GroupState, bool]], events: list[Event]
) -> None:
    """One transaction: each group's new state replaces its old one, and its network events are
    replaced: all of them for a group computed from scratch (`fresh`), only the open ones
    otherwise (the closed ones before this run stay as they are)."""
    states = pa.table({
        "target": [key[0] for key, _, _ in groups], "probe_cc": [key[1] for key, _, _ in groups],
        "probe_asn": [key[2] for key, _, _ in groups], "through": [state.through for _, state, _ in groups],
        "seen": [state.seen for _, state, _ in groups], "digest": [state.digest for _, state, _ in groups],
        "state": [group_state_json(state) for _, state, _ in groups], "fresh": [fresh for _, _, fresh in groups],
    }, schema=_STATE_SCHEMA)
    con.register("ev_states", states)
    con.register("ev_new_events", events_table(events))
    try:
        with transaction(con):
            con.execute(
                "DELETE FROM events e USING ev_states s WHERE e.probe_asn IS NOT NULL AND e.target = s.target "
                "AND e.probe_cc = s.probe_cc AND e.probe_asn = s.probe_asn AND (s.fresh OR e.end_time IS NULL)"
            )
            con.execute(
                "DELETE FROM events_series_state e USING ev_states s WHERE e.target = s.target "
                "AND e.probe_cc = s.probe_cc AND e.probe_asn = s.probe_asn"
            )
            con.execute(
                "INSERT INTO events_series_state SELECT target, probe_cc, probe_asn, through, seen, digest, state "
                "FROM ev_states"
            )
            con.execute(f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) SELECT * FROM ev_new_events")
    finally:
        con.unregister("ev_states")
        con.unregister("ev_new_events")


def replace_country_events(con: duckdb.DuckDBPyConnection, events: list[Event]) -> None:
    con.register("ev_country", events_table(events))
    try:
        with transaction(con):
            con.execute("DELETE FROM events WHERE probe_asn IS NULL")
            con.execute(f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) SELECT * FROM ev_country")
    finally:
        con.unregister("ev_country")


def network_events(con: duckdb.DuckDBPyConnection) -> Iterable[Event]:
    """The network events as stored (with `own` when revised), in order of (target, probe_cc,
    blocking, start), streamed."""
    cursor = con.cursor()
    cursor.execute(
        f"SELECT {', '.join(EVENT_COLUMNS[:4])}, epoch_us(start_time), epoch_us(end_time), "
        f"{', '.join(EVENT_COLUMNS[6:16])}, epoch_us(detected), own FROM events WHERE probe_asn IS NOT NULL "
        "ORDER BY target, probe_cc, blocking, start_time, probe_asn"
    )
    while rows := cursor.fetchmany(5000):
        for row in rows:
            event = Event(*row[:8], *row[9:17], networks=list(row[8]))  # type: ignore[misc]
            if row[17] is not None:
                event.own = replace(event, **orjson.loads(row[17]))
            yield event
    cursor.close()


def replace_network_events(con: duckdb.DuckDBPyConnection, old: list[Event], new: list[Event]) -> None:
    """One transaction: the stored network events `old` (as stored) become `new`."""
    keys = pa.table({
        "target": [e.target for e in old], "probe_cc": [e.probe_cc for e in old],
        "probe_asn": [e.probe_asn for e in old], "blocking": [e.blocking for e in old],
        "start_time": pa.array([e.start for e in old], pa.timestamp("us")),
    })
    con.register("ev_old", keys)
    con.register("ev_revised", events_table(new))
    try:
        with transaction(con):
            con.execute(
                "DELETE FROM events e USING ev_old o WHERE e.target = o.target AND e.probe_cc = o.probe_cc "
                "AND e.probe_asn = o.probe_asn AND e.blocking = o.blocking AND e.start_time = o.start_time"
            )
            con.execute(f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) SELECT * FROM ev_revised")
    finally:
        con.unregister("ev_old")
        con.unregister("ev_revised")
