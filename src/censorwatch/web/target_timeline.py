"""One timeline per target (DESIGN.md, "target timeline"): on one time axis, per country and
network, the verdicts of each day and the blocking events, plus the register entries added and
removed, and the documents and requests naming the target. The API (/api/v1/targets/timeline)
returns it as built here; the target page draws it (web/timeline.py).

Every part is optional but the verdicts: a store without events, register or archive tables
gives empty lists, never an error."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

import duckdb
import orjson

from censorwatch.analysis.events.listing import Filters as EventFilters
from censorwatch.analysis.events.listing import list_events
from censorwatch.model.measurement import domain_of
from censorwatch.store.registry import LookupError_, parse_target
from censorwatch.web.filters import where_clause
from censorwatch.web.queries import BadQuery, Filters, make_filters, target_filters
from censorwatch.web.register import register

COUNTS = ("ok", "anomaly", "confirmed", "failure")
_IN_CHUNK = 1000  # DuckDB answers short constant IN lists from the ART index (store/registry.py)


def build_timeline(cur: duckdb.DuckDBPyConnection, target: str | None, probe_cc: str | None = None,
                   since: str | None = None, until: str | None = None,
                   named: dict[str, Any] | None = None) -> dict[str, Any]:
    """The timeline of `target` (a domain or a URL), as the API returns it. `named`: the documents
    and requests naming it (web/archive_data.naming_target), None when there is no archive."""
    if not target or not target.strip():
        raise BadQuery("say which target: a domain like example.org or a full URL (?t=...)")
    text = target.strip()
    f = target_filters(text, make_filters(probe_cc=probe_cc, since=since, until=until))
    rows = _rows(cur, f)
    _add_events(cur, rows, f)
    ordered = sorted(rows.values(), key=lambda row: (row["probe_cc"], row["probe_asn"] is not None,
                                                     _asn_number(row["probe_asn"])))
    # The register is Russia's: its entries say nothing about another country's blocking.
    changes = register_changes(cur, f.domain or text) if f.probe_cc in (None, "RU") else []
    data = {
        "target": text,
        "filters": f.as_params(),
        "rows": ordered,
        "register": [item for item in changes if _within(item["date"], f)],
        "documents": [item for item in _documents(named) if _within(item["date"], f)],
        "requests": [item for item in _requests(named) if _within(first_day(item["date"]), f)],
    }
    return {"target": text, "axis": _axis(data, f), **{key: value for key, value in data.items() if key != "target"}}


def _asn_number(asn: str | None) -> int:
    digits = (asn or "").upper().removeprefix("AS")
    return int(digits) if digits.isdigit() else -1


# -- verdicts and events ---------------------------------------------------------------------------
def _rows(cur: duckdb.DuckDBPyConnection, f: Filters) -> dict[tuple[str, str | None], dict[str, Any]]:
    """Per network and per country (the sum of its networks): the counts of each day with
    measurements. One pass over the measurements with only the four counts the timeline shows:
    no aggregate table holds day, network and target together, and the query layer's eleven
    counts built as JSON took three to four times as long (74-110 ms against 17-33 ms for a
    target's 2,160 network-days in 2.1 million rows, one DuckDB thread)."""
    where, params = where_clause(f, None)
    counts = ", ".join(f"count(*) FILTER (WHERE verdict = '{name}')" for name in COUNTS)
    found = cur.execute(
        "SELECT probe_cc, probe_asn, CAST(measurement_start_time AS DATE) AS day, any_value(probe_network_name), "
        f"{counts} FROM measurements{where}{' AND' if where else ' WHERE'} measurement_start_time IS NOT NULL "
        "AND probe_cc IS NOT NULL GROUP BY ALL ORDER BY day",
        params,
    ).fetchall()
    rows: dict[tuple[str, str | None], dict[str, Any]] = {}
    country_days: dict[str, dict[str, dict[str, Any]]] = {}
    for cc, asn, day, name, *numbers in found:
        cell = dict(zip(COUNTS, (int(n) for n in numbers), strict=True))
        if asn is not None:
            row = _row(rows, cc, asn)
            row["network_name"] = row["network_name"] or name
            row["days"].append({"day": day.isoformat(), **cell})
        into = country_days.setdefault(cc, {}).setdefault(day.isoformat(), dict.fromkeys(COUNTS, 0))
        for key, value in cell.items():
            into[key] += value
    for cc, days in country_days.items():
        _row(rows, cc, None)["days"] = [{"day": day, **cell} for day, cell in sorted(days.items())]
    return rows


def _row(rows: dict[tuple[str, str | None], dict[str, Any]], cc: str, asn: str | None) -> dict[str, Any]:
    key = (cc, asn)
    if key not in rows:
        rows[key] = {"probe_cc": cc, "probe_asn": asn, "network_name": None, "days": [], "events": []}
    return rows[key]


def event_target(text: str | None) -> str | None:
    """What the event detector calls a target: its measurements' domain (docs/events.md), so a
    URL's events are those of its host."""
    if text is None or not text.strip():
        return None
    value = text.strip()
    if "://" in value:
        return domain_of(value) or value.lower()
    return value.lower().rstrip(".")


def _add_events(cur: duckdb.DuckDBPyConnection, rows: dict[tuple[str, str | None], dict[str, Any]],
                f: Filters) -> None:
    name = event_target(f.domain or f.input)
    if name is None:
        return
    # `since` keeps the events still on at or after it, as `events list --since` does.
    chosen = EventFilters(country=f.probe_cc, target=name, since=f.since.date() if f.since else None)
    for event in list_events(cur, chosen):
        if f.until is not None and event["start"] >= f.until.strftime("%Y-%m-%d %H:%M:%S"):
            continue
        _row(rows, event["probe_cc"], event["probe_asn"])["events"].append({
            "start": event["start"], "end": event["end"], "blocking": event["blocking"],
            "confidence": event["confidence"], "start_observed": event["start_observed"],
        })


# -- the register ----------------------------------------------------------------------------------
def _in(cur: duckdb.DuckDBPyConnection, sql: str, values: list[str]) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for start in range(0, len(values), _IN_CHUNK):
        chunk = values[start:start + _IN_CHUNK]
        out.extend(cur.execute(f"{sql} ({', '.join('?' for _ in chunk)})", chunk).fetchall())
    return out


def register_changes(cur: duckdb.DuckDBPyConnection, target: str) -> list[dict[str, Any]]:
    """Each register entry naming `target` (the look-up of the target page: the URL, its host,
    wildcards over it) as the snapshots where it appeared and disappeared. An entry is its key
    (the order and what it names): a key whose addresses change between snapshots is the same
    entry, neither removed nor added. An entry of the first stored snapshot was listed on or
    before it (`listed_before: true`)."""
    registry = register(cur)
    if registry is None:
        return []
    try:
        found = registry.matches(parse_target(target))
    except LookupError_:
        return []
    entries = _in(cur, "SELECT digest, key, list_name, detail FROM registry_entries WHERE digest IN", list(found))
    dates = dict(_in(cur, "SELECT digest, dates FROM registry_presence WHERE digest IN", list(found)))
    by_key: dict[str, dict[str, Any]] = {}
    for digest, key, list_name, detail in entries:
        held = set(dates.get(digest) or [])
        if not held:
            continue  # contents of an interrupted ingest: no snapshot holds them
        into = by_key.setdefault(key, {"list": list_name, "match": found[digest], "dates": set(), "latest": None})
        into["dates"] |= held
        if into["latest"] is None or max(held) >= into["latest"][0]:
            into["latest"] = (max(held), detail)
    snapshots = {name: registry.snapshots(name) for name in {item["list"] for item in by_key.values()}}
    changes = [change for item in by_key.values() for change in _transitions(item, snapshots[item["list"]])]
    return sorted(changes, key=lambda change: (change["date"], change["change"], change["entry"]["names"]))


def _transitions(item: dict[str, Any], snapshots: list[date]) -> Iterable[dict[str, Any]]:
    detail = orjson.loads(item["latest"][1])
    names = [*(detail.get("domains_unicode") or detail.get("domains") or []), *(detail.get("urls") or [])]
    entry = {
        "list": item["list"], "match": item["match"], "authority": detail.get("authority"),
        "decision": detail.get("decision"), "decision_date": detail.get("decision_date"),
        "names": names or [*(detail.get("ips") or []), *(detail.get("subnets") or [])],
        "block_type": detail.get("block_type"),
    }
    held = item["dates"]
    before = False
    for index, snapshot in enumerate(snapshots):
        now = snapshot in held
        if now and not before:
            yield {"date": snapshot.isoformat(), "change": "added", "listed_before": index == 0, "entry": entry}
        elif before and not now:
            yield {"date": snapshot.isoformat(), "change": "removed", "listed_before": False, "entry": entry}
        before = now


# -- the archive ---------------------------------------------------------------------------------
# `named` is what web/archive_targets.naming found for the target (the target page's "documents
# naming this target" section): one definition of "naming", private collections and masking as
# the app is configured. Here only placed on the axis.
def _documents(named: dict[str, Any] | None) -> list[dict[str, Any]]:
    found = [{"doc_id": item["doc_id"], "title": item.get("title"), "date": _day(item.get("date")),
              "how": item.get("how")} for item in (named or {}).get("documents", [])]
    return sorted(found, key=lambda item: (item["date"] is None, item["date"] or "", item["doc_id"]))


def _requests(named: dict[str, Any] | None) -> list[dict[str, Any]]:
    found = [{"request_id": item.get("id", item.get("request_id")), "date": item.get("date"),
              "requester": item.get("requester"), "recipient": item.get("recipient"), "action": item.get("action"),
              "outcome": item.get("outcome"), "how": item.get("how")} for item in (named or {}).get("requests", [])]
    return sorted(found, key=lambda item: (first_day(item["date"]) or "9999", str(item["request_id"])))


def _day(value: object) -> str | None:
    """A document's date as a day: the archive gives a date or a time ("2024-03-02T00:00:00")."""
    return str(value)[:10] if value else None


# -- the axis --------------------------------------------------------------------------------------
def first_day(text: str | None) -> str | None:
    """A request's date (YYYY, YYYY-MM or YYYY-MM-DD) as its first day: where the axis puts it."""
    if not text:
        return None
    parts = text.split("-")
    try:
        return date(int(parts[0]), int(parts[1]) if len(parts) > 1 else 1,
                    int(parts[2]) if len(parts) > 2 else 1).isoformat()
    except (ValueError, IndexError):
        return None


def _within(day: str | None, f: Filters) -> bool:
    if day is None:
        return True  # undated: listed, not placed
    moment = datetime.fromisoformat(day)
    return (f.since is None or moment >= datetime.combine(f.since.date(), datetime.min.time())) and (
        f.until is None or moment < f.until)


def _axis(data: dict[str, Any], f: Filters) -> dict[str, str | None]:
    """The days the timeline spans: the period asked for, else everything it shows."""
    days: list[str] = []
    for row in data["rows"]:
        days.extend(cell["day"] for cell in row["days"])
        for event in row["events"]:
            days.extend(moment[:10] for moment in (event["start"], event["end"]) if moment)
    days.extend(item["date"] for item in [*data["register"], *data["documents"]] if item["date"])
    days.extend(day for item in data["requests"] if (day := first_day(item["date"])))
    start = f.since.date().isoformat() if f.since else min(days, default=None)
    end = (f.until - timedelta(microseconds=1)).date().isoformat() if f.until else max(days, default=None)
    if start is not None and end is not None and end < start:
        end = start
    return {"start": start, "end": end}
