"""Geometry for the server-drawn SVG charts (templates/_charts.html draws them). Everything is
computed here so the page needs no script and the figures are testable as data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

# Bottom to top: what is stacked in a bar, with the words the legend uses.
STACK = (
    ("ok", "No sign of blocking"),
    ("failure", "Measurement failed"),
    ("anomaly", "Possible blocking (anomaly)"),
    ("confirmed", "Confirmed blocking"),
)
MAX_BARS = 120


@dataclass
class Segment:
    kind: str
    y: float
    height: float
    count: int


@dataclass
class Bar:
    label: str
    x: float
    width: float
    total: int
    blocked: int
    segments: list[Segment] = field(default_factory=list)


@dataclass
class BarChart:
    width: int
    height: int
    top: int
    bars: list[Bar]
    max_total: int
    first: str
    last: str
    legend: Sequence[tuple[str, str]] = STACK


def _bucket(rows: Sequence[dict[str, Any]]) -> list[tuple[str, dict[str, int]]]:
    """Days as they are, or weeks (labelled by their Monday) when there are too many days."""
    days = [(date.fromisoformat(row["day"]), row["verdicts"]) for row in rows if row.get("day")]
    if not days:
        return []
    span = (days[-1][0] - days[0][0]).days + 1
    weekly = span > MAX_BARS
    buckets: dict[date, dict[str, int]] = {}
    for day, verdicts in days:
        key = day - timedelta(days=day.weekday()) if weekly else day
        bucket = buckets.setdefault(key, {kind: 0 for kind, _ in STACK})
        for kind, _ in STACK:
            bucket[kind] += int(verdicts.get(kind, 0))
    return [((f"week of {key.isoformat()}" if weekly else key.isoformat()), counts)
            for key, counts in sorted(buckets.items())]


def bar_chart(rows: Sequence[dict[str, Any]], width: int = 720, height: int = 180) -> BarChart | None:
    """rows: aggregate rows with a "day" key, in day order."""
    buckets = _bucket(rows)
    if not buckets:
        return None
    top = 8
    plot = height - top
    max_total = max(sum(counts.values()) for _, counts in buckets) or 1
    slot = width / len(buckets)
    bar_width = max(slot * 0.8, 1.0)
    bars = []
    for index, (label, counts) in enumerate(buckets):
        total = sum(counts.values())
        bar = Bar(label, round(index * slot + (slot - bar_width) / 2, 2), round(bar_width, 2), total,
                  counts["anomaly"] + counts["confirmed"])
        y = float(height)
        for kind, _ in STACK:
            part = counts[kind] / max_total * plot
            if counts[kind]:
                y -= part
                bar.segments.append(Segment(kind, round(y, 2), round(max(part, 0.5), 2), counts[kind]))
        bars.append(bar)
    return BarChart(width, height, top, bars, max_total, buckets[0][0], buckets[-1][0])


@dataclass
class Cell:
    x: float
    y: float
    level: int
    label: str


@dataclass
class Heatmap:
    width: int
    height: int
    label_width: int
    row_height: int
    rows: list[tuple[str, float]]  # (label, y)
    cells: list[Cell]
    first: str
    last: str


def heatmap(rows: Sequence[dict[str, Any]], row_key: str, width: int = 720) -> Heatmap | None:
    """One row per country (or network), one column per day: how much of that day's
    measurements looked blocked. rows: aggregate rows keyed by day and row_key."""
    usable = _weekly([row for row in rows if row.get("day") and row.get(row_key)], row_key)
    if not usable:
        return None
    days = sorted({row["day"] for row in usable})
    labels = sorted({str(row[row_key]) for row in usable})
    label_width, row_height = 60, 18
    slot = (width - label_width) / len(days)
    column = {day: index for index, day in enumerate(days)}
    line = {label: index for index, label in enumerate(labels)}
    cells = []
    for row in usable:
        total, blocked = row["total"], row["blocked"]
        confirmed = row["verdicts"].get("confirmed", 0)
        share = blocked / total if total else 0.0
        level = 5 if confirmed else 1 if blocked == 0 else 2 if share < 0.2 else 3 if share < 0.5 else 4
        level = 0 if total == 0 else level
        cells.append(Cell(round(label_width + column[row["day"]] * slot, 2), line[str(row[row_key])] * row_height,
                          level, f"{row[row_key]} {row['day']}: {blocked} of {total} blocked"))
    return Heatmap(width, len(labels) * row_height, label_width, row_height,
                   [(label, index * row_height) for label, index in line.items()], cells, days[0], days[-1])


def _weekly(rows: list[dict[str, Any]], row_key: str) -> list[dict[str, Any]]:
    """Rows summed by week (keyed by its Monday) when they span more days than fit as columns."""
    days = sorted({row["day"] for row in rows})
    if not days or (date.fromisoformat(days[-1]) - date.fromisoformat(days[0])).days < MAX_BARS:
        return rows
    weeks: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        day = date.fromisoformat(row["day"])
        monday = (day - timedelta(days=day.weekday())).isoformat()
        into = weeks.setdefault((monday, str(row[row_key])), {"day": monday, row_key: row[row_key], "total": 0,
                                                              "blocked": 0, "verdicts": {"confirmed": 0}})
        into["total"] += row["total"]
        into["blocked"] += row["blocked"]
        into["verdicts"]["confirmed"] += row["verdicts"].get("confirmed", 0)
    return list(weeks.values())


def cell_width(chart: Heatmap) -> float:
    days = len({cell.x for cell in chart.cells})
    return max((chart.width - chart.label_width) / max(days, 1) - 1, 1.0)
