"""Geometry of a target's timeline (web/target_timeline.py builds the data; templates/_timeline.html
draws it): one lane per country and network with a cell per day (or week) coloured by how much
looked blocked and a bar per blocking event, above them tracks for the register's changes, the
documents and the requests naming the target, and dashed guides at each register change so the
eye can follow a listing down to the networks. Everything is computed here: the page needs no
script, and the figures are testable as data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from censorwatch.web.target_timeline import first_day
from censorwatch.web.worldmap import country_name

WIDTH = 960
LABEL_WIDTH = 150
RIGHT = 14  # room for the arrow of an ongoing event
TRACK_HEIGHT = 16
AXIS_HEIGHT = 20
COUNTRY_CELLS, NETWORK_CELLS = 14, 10  # cell heights; an event bar of EVENT_HEIGHT goes below
EVENT_HEIGHT = 5
MAX_LANES = 60  # a target in 60 countries with 5 networks each would draw 360: networks give way
MAX_COLUMNS = 240  # beyond, days are summed by week (or four weeks), as charts.py sums its bars


@dataclass
class Cell:
    x: float
    width: float
    level: int
    label: str


@dataclass
class Bar:
    x: float
    width: float
    ongoing: bool
    label: str


@dataclass
class Lane:
    label: str
    note: str
    href: str
    country: bool
    y: float
    height: float
    cell_height: float
    cells: list[Cell] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)


@dataclass
class Mark:
    x: float
    kind: str  # added, removed, document, request
    label: str
    href: str | None = None


@dataclass
class Track:
    label: str
    y: float
    marks: list[Mark]


@dataclass
class Tick:
    x: float
    label: str


@dataclass
class TimelineChart:
    width: int
    height: float
    label_width: int
    plot_top: float
    plot_bottom: float
    tracks: list[Track]
    lanes: list[Lane]
    guides: list[Mark]
    ticks: list[Tick]
    first: str
    last: str
    bucket_days: int
    hidden_lanes: int
    undated: int


class _Scale:
    def __init__(self, start: date, end: date) -> None:
        self.start = start
        self.days = (end - start).days + 1
        self.unit = (WIDTH - LABEL_WIDTH - RIGHT) / self.days

    def x(self, moment: date | datetime) -> float:
        if isinstance(moment, datetime):
            offset = (moment - datetime.combine(self.start, datetime.min.time())).total_seconds() / 86400
        else:
            offset = (moment - self.start).days
        return round(LABEL_WIDTH + min(max(offset, 0.0), self.days) * self.unit, 2)


def level(counts: dict[str, int]) -> int:
    """The heatmap's levels (charts.heatmap): 5 confirmed, 1 reachable, 2-4 growing shares of
    anomalies; 0 when every measurement failed (no evidence either way)."""
    blocked = counts["anomaly"] + counts["confirmed"]
    total = blocked + counts["ok"] + counts["failure"]
    if counts["confirmed"]:
        return 5
    if blocked == 0:
        return 1 if counts["ok"] else 0
    share = blocked / total
    return 2 if share < 0.2 else 3 if share < 0.5 else 4


def _bucket_days(days: int) -> int:
    return 1 if days <= MAX_COLUMNS else 7 if days <= MAX_COLUMNS * 7 else 28


def _cells(scale: _Scale, bucket: int, name: str, days: Sequence[dict[str, Any]]) -> list[Cell]:
    sums: dict[int, dict[str, int]] = {}
    for cell in days:
        index = (date.fromisoformat(cell["day"]) - scale.start).days // bucket
        into = sums.setdefault(index, {"ok": 0, "anomaly": 0, "confirmed": 0, "failure": 0})
        for kind in into:
            into[kind] += int(cell[kind])
    width = bucket * scale.unit
    gap = 0.5 if width > 3 else 0.0
    out = []
    for index, counts in sorted(sums.items()):
        first = scale.start + timedelta(days=index * bucket)
        when = first.isoformat() if bucket == 1 else f"{bucket} days from {first.isoformat()}"
        blocked = counts["anomaly"] + counts["confirmed"]
        total = blocked + counts["ok"] + counts["failure"]
        label = (f"{name}, {when}: {blocked} of {total} blocked ({counts['confirmed']} confirmed, "
                 f"{counts['failure']} failed)")
        out.append(Cell(scale.x(first), round(max(width - gap, 0.8), 2), level(counts), label))
    return out


def _bars(scale: _Scale, name: str, events: Sequence[dict[str, Any]]) -> list[Bar]:
    out = []
    for event in events:
        start = datetime.fromisoformat(event["start"])
        end = datetime.fromisoformat(event["end"]) if event["end"] else None
        x0 = scale.x(start)
        x1 = scale.x(end) if end else scale.x(scale.start + timedelta(days=scale.days))
        since = event["start"] + ("" if event.get("start_observed", True) else " (or before)")
        until = f"until {event['end']}" if end else "ongoing"
        label = (f"{name}: {event['blocking']} blocking from {since} {until} UTC, "
                 f"confidence {event['confidence']:.2f}")
        out.append(Bar(x0, round(max(x1 - x0, 2.0), 2), end is None, label))
    return out


def _lanes(rows: Sequence[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """The rows drawn: every country, then networks in order while MAX_LANES allows."""
    countries = sum(1 for row in rows if row["probe_asn"] is None)
    budget = max(MAX_LANES - countries, 0)
    kept = []
    for row in rows:
        if row["probe_asn"] is None:
            kept.append(row)
        elif budget > 0:
            kept.append(row)
            budget -= 1
    return kept, len(rows) - len(kept)


def _href(target: str, row: dict[str, Any]) -> str:
    if row["probe_asn"] is None:
        return "/target?" + urlencode({"t": target, "probe_cc": row["probe_cc"]})
    key = "input" if "://" in target else "domain"
    return "/search?" + urlencode({key: target, "probe_cc": row["probe_cc"], "probe_asn": row["probe_asn"]})


def _ticks(scale: _Scale) -> list[Tick]:
    """Weekly ticks over short spans, else month starts every 1, 2, 3, 6, 12, 24 or 60 months:
    the smallest step giving at most 12."""
    end = scale.start + timedelta(days=scale.days)
    if scale.days <= 45:
        step = 7 if scale.days > 10 else 1
        return [Tick(scale.x(scale.start + timedelta(days=d)), (scale.start + timedelta(days=d)).isoformat())
                for d in range(0, scale.days, step)]
    months = (end.year - scale.start.year) * 12 + end.month - scale.start.month + 1
    step = next((s for s in (1, 2, 3, 6, 12, 24, 60) if months / s <= 12), 120)
    ticks = []
    year, month = scale.start.year, scale.start.month
    if step >= 12:
        year, month = year + (1 if month > 1 else 0), 1
    while (first := date(year, month, 1)) < end:
        if first >= scale.start:
            ticks.append(Tick(scale.x(first), first.strftime("%Y" if step >= 12 else "%Y-%m")))
        month += step
        year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return ticks


def _entry_words(item: dict[str, Any]) -> str:
    entry = item["entry"]
    order = ", ".join(str(part) for part in (entry["authority"], entry["decision"], entry["decision_date"]) if part)
    verb = "in the register since its first stored snapshot" if item["listed_before"] else (
        "added to the register" if item["change"] == "added" else "removed from the register")
    return f"{item['date']}: {verb} ({order or 'no decision given'}): {', '.join(entry['names'][:5])}"


def _tracks(scale: _Scale, data: dict[str, Any], top: float) -> tuple[list[Track], list[Mark]]:
    tracks: list[Track] = []
    register = [Mark(scale.x(date.fromisoformat(item["date"])), item["change"], _entry_words(item),
                     "/register?" + urlencode({"t": data["target"], "date": item["date"]}))
                for item in data["register"]]
    documents = [Mark(scale.x(date.fromisoformat(item["date"])), "document",
                      f"{item['date']}: document “{item['title'] or item['doc_id']}” names this target",
                      f"/archive/doc/{quote(str(item['doc_id']), safe='')}")
                 for item in data["documents"] if item["date"]]
    requests = [Mark(scale.x(date.fromisoformat(day)), "request",
                     f"{item['date']}: {item['requester']} asked {item['recipient']} to {item['action']} "
                     f"(request {item['request_id']}, outcome {item['outcome']})")
                for item in data["requests"] if (day := first_day(item["date"]))]
    for label, marks in (("Register (RU)", register), ("Documents", documents), ("Requests", requests)):
        if marks:
            tracks.append(Track(label, top + len(tracks) * TRACK_HEIGHT, marks))
    # An entry already in the first snapshot was not seen being added: no guide for it.
    guides = [mark for mark, item in zip(register, data["register"], strict=True) if not item["listed_before"]]
    return tracks, guides


def chart(data: dict[str, Any] | None) -> TimelineChart | None:
    """The drawing of a timeline as target_timeline.build_timeline returns it; None when there
    is nothing to draw."""
    if not data or not data["axis"]["start"] or not data["axis"]["end"]:
        return None
    scale = _Scale(date.fromisoformat(data["axis"]["start"]), date.fromisoformat(data["axis"]["end"]))
    bucket = _bucket_days(scale.days)
    tracks, guides = _tracks(scale, data, 4.0)
    y = 4.0 + len(tracks) * TRACK_HEIGHT + (6 if tracks else 0)
    plot_top = y
    rows, hidden = _lanes(data["rows"])
    lanes = []
    for row in rows:
        country = row["probe_asn"] is None
        cells_h = COUNTRY_CELLS if country else NETWORK_CELLS
        name = (f"{country_name(row['probe_cc'])} ({row['probe_cc']})" if country
                else f"{row['probe_cc']} {row['probe_asn']}")
        label = f"{row['probe_cc']} {country_name(row['probe_cc'])}"[:22] if country else row["probe_asn"]
        note = "" if country else (row.get("network_name") or "")[:14]
        lane = Lane(label, note, _href(data["target"], row), country, y, cells_h + EVENT_HEIGHT + 4, cells_h,
                    _cells(scale, bucket, name, row["days"]), _bars(scale, name, row["events"]))
        lanes.append(lane)
        y += lane.height
    undated = sum(1 for item in data["documents"] if not item["date"])
    return TimelineChart(WIDTH, y + AXIS_HEIGHT, LABEL_WIDTH, plot_top, y, tracks, lanes, guides, _ticks(scale),
                         data["axis"]["start"], data["axis"]["end"], bucket, hidden, undated)
