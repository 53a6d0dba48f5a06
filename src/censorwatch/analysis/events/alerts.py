"""Which event alerts a webhook subscriber still has to get, and the durable record of those it
got (docs/events.md, "Alerts"). No HTTP here: services/alerts.py posts.

An event has no stored id (runs replace open events), so its id is derived from what does not
change while it lasts: target, country, network, layer and start. Each event is announced once
(`start`), again when it ends (`end`), and once more if a delivered event disappears from the
store (`retracted`: a recomputation after late measurements, or new parameters, moved or
removed it). A delivery is recorded only after the receiver answered 2xx,
in one statement (DuckDB commits it atomically): a restart posts nothing recorded, and a process
killed between the answer and the record posts that one alert again (receivers can drop it by
its `Idempotency-Key`)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import duckdb
import orjson

from censorwatch.analysis.events.listing import Filters, list_events
from censorwatch.analysis.events.tables import now

KINDS = ("start", "end", "retracted")
DDL = """CREATE TABLE IF NOT EXISTS events_alerts (
    subscriber VARCHAR NOT NULL, event_id VARCHAR NOT NULL, kind VARCHAR NOT NULL,
    delivered TIMESTAMP NOT NULL, status INTEGER NOT NULL, payload VARCHAR NOT NULL,
    PRIMARY KEY (subscriber, event_id, kind))"""


def event_id(event: Mapping[str, Any]) -> str:
    """A stable id of an event as `events list --format json` gives it."""
    parts = (event["target"], event["probe_cc"], event["probe_asn"] or "", event["blocking"], event["start"])
    # surrogatepass: a lone surrogate (never from the store, perhaps from a caller) still hashes
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:24]


def subscriber_id(webhook: str) -> str:
    """Deliveries are kept per webhook, under a digest of its URL: webhook URLs often carry a
    secret token, which the store should not hold."""
    return hashlib.sha256(webhook.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class Alert:
    event_id: str
    kind: str  # one of KINDS
    payload: dict[str, Any]  # the event as `events list --format json` gives it, plus id and alert

    def body(self) -> bytes:
        return orjson.dumps(self.payload)


def ensure(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)


def _delivered(con: duckdb.DuckDBPyConnection, subscriber: str) -> dict[str, dict[str, str]]:
    """event_id -> kind -> the body posted."""
    found: dict[str, dict[str, str]] = {}
    for event, kind, payload in con.execute(
        "SELECT event_id, kind, payload FROM events_alerts WHERE subscriber = ?", [subscriber]
    ).fetchall():
        found.setdefault(event, {})[kind] = payload
    return found


def pending(con: duckdb.DuckDBPyConnection, subscriber: str, filters: Filters = Filters()) -> list[Alert]:
    """The alerts not yet delivered to `subscriber`, in the order to post them: each event's
    start before its end; retractions last. `filters` select the events announced (a
    retraction concerns an event that was announced, whatever the filters now)."""
    delivered = _delivered(con, subscriber)
    events = list_events(con, filters)
    alerts: list[Alert] = []
    ends: list[Alert] = []
    for event in sorted(events, key=lambda e: (e["detected"] or "", e["start"], event_id(e))):
        eid = event_id(event)
        done = delivered.get(eid, {})
        if "start" not in done:
            alerts.append(Alert(eid, "start", {**event, "id": eid, "alert": "start"}))
        if event["end"] is not None and "end" not in done:
            ends.append(Alert(eid, "end", {**event, "id": eid, "alert": "end"}))
    ends.sort(key=lambda alert: (alert.payload["end"], alert.event_id))
    present = {event_id(event) for event in list_events(con)} if filters != Filters() else {
        event_id(event) for event in events}
    retractions = [
        Alert(eid, "retracted", {**orjson.loads(kinds["start"]), "alert": "retracted"})
        for eid, kinds in sorted(delivered.items())
        if "start" in kinds and "retracted" not in kinds and eid not in present
    ]
    return alerts + ends + retractions


def mark(con: duckdb.DuckDBPyConnection, subscriber: str, alert: Alert, status: int) -> None:
    """Records a delivery (after a 2xx). One statement, committed on its own."""
    con.execute(
        "INSERT OR IGNORE INTO events_alerts VALUES (?, ?, ?, ?, ?, ?)",
        [subscriber, alert.event_id, alert.kind, now(), status, alert.body().decode("utf-8")],
    )
