"""OONI's /api/v1/aggregation answer, parsed into per-day counts we can trust.

We ask it one question: how many measurements does a list query cover (axis_x=measurement_start_day,
time_grain=day), so that paging through /api/v1/measurements has a total. Shape (ooni/backend,
oonimeasurements routers/v1/aggregation.py, models MeasurementAggregation / AggregationResult):
``{"v": 0, "dimension_count": 1, "db_stats": {...}, "result": [{measurement_start_day, measurement_count,
anomaly_count, confirmed_count, failure_count, ok_count}, ...]}``. Errors come back as ``{"error": ..., "v": 0}``,
sometimes with HTTP 200 (the backend's ``jerror(..., code=200)`` on bad parameters), so the body decides.

What the counts mean, from the backend's SQL over the fastpath table:
  anomaly_count   = anomaly AND NOT confirmed AND NOT failure
  confirmed_count = confirmed AND NOT failure
  failure_count   = failure
  ok_count        = NOT anomaly AND NOT confirmed AND NOT failure
So the four are disjoint: ``anomaly_count`` does NOT include the confirmed ones, and
ok + anomaly + confirmed + failure == measurement_count. The recorded real answer (global web_connectivity,
2022-03-01..03) satisfies that exactly on every day, while ok + anomaly + failure falls short by exactly
confirmed_count. Nothing in the API's schema promises the identity, so a row breaking it is kept (its
measurement_count is still OONI's count) and counted in ``inconsistent_rows``; a row that cannot be a count
(missing key, string, bool, negative, part larger than the whole, bad or repeated day) is skipped and counted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

COUNT_KEYS = ("measurement_count", "anomaly_count", "confirmed_count", "failure_count", "ok_count")
PART_KEYS = ("anomaly_count", "confirmed_count", "failure_count", "ok_count")
KNOWN_VERSION = 0
MAX_PROBLEMS = 5


class MalformedAggregation(ValueError):
    """The answer as a whole is not an aggregation we can read (an error object, no result list, ...)."""


@dataclass(frozen=True)
class DayCounts:
    day: date
    measurement_count: int
    anomaly_count: int
    confirmed_count: int
    failure_count: int
    ok_count: int

    @property
    def partition_holds(self) -> bool:
        """The backend's four categories are disjoint and cover every measurement of the day."""
        parts = self.ok_count + self.anomaly_count + self.confirmed_count + self.failure_count
        return parts == self.measurement_count


@dataclass(frozen=True)
class Aggregation:
    days: tuple[DayCounts, ...]
    malformed_rows: int = 0
    problems: tuple[str, ...] = ()  # the first few reasons rows were skipped, for the log line
    db_row_count: int | None = None

    @property
    def total(self) -> int:
        """Measurements OONI counted over the usable days (a lower bound when rows were skipped)."""
        return sum(day.measurement_count for day in self.days)

    @property
    def inconsistent_rows(self) -> int:
        return sum(1 for day in self.days if not day.partition_holds)


def parse_aggregation_text(text: str | bytes) -> Aggregation:
    try:
        document = json.loads(text)
    except (ValueError, UnicodeDecodeError) as error:
        raise MalformedAggregation("the aggregation answer is not JSON") from error
    return parse_aggregation(document)


def parse_aggregation(document: object) -> Aggregation:
    if not isinstance(document, dict):
        raise MalformedAggregation("the aggregation answer is not a JSON object")
    if "error" in document:
        raise MalformedAggregation(f"OONI answered an error: {str(document['error'])[:200]}")
    version = document.get("v")
    if version is not None and (_count(version) != KNOWN_VERSION):
        raise MalformedAggregation(f"unknown aggregation format v={str(version)[:20]}")
    dimensions = document.get("dimension_count")
    if dimensions is not None and _count(dimensions) != 1:
        raise MalformedAggregation(f"expected one dimension (the day), got dimension_count={str(dimensions)[:20]}")
    rows = document.get("result")
    if not isinstance(rows, list):
        raise MalformedAggregation("the aggregation answer has no result list")
    days: list[DayCounts] = []
    seen: set[date] = set()
    problems: list[str] = []
    malformed = 0
    for index, row in enumerate(rows):
        try:
            counts = parse_row(row)
            if counts.day in seen:
                raise MalformedAggregation(f"day {counts.day} repeated")
        except MalformedAggregation as error:
            malformed += 1
            if len(problems) < MAX_PROBLEMS:
                problems.append(f"row {index}: {error}")
            continue
        seen.add(counts.day)
        days.append(counts)
    return Aggregation(tuple(days), malformed, tuple(problems), _db_row_count(document.get("db_stats")))


def parse_row(row: object) -> DayCounts:
    if not isinstance(row, dict):
        raise MalformedAggregation("not an object")
    day = _day(row.get("measurement_start_day"))
    counts: dict[str, int] = {}
    for key in COUNT_KEYS:
        if key not in row:
            raise MalformedAggregation(f"{key} missing")
        value = _count(row[key])
        if value is None:
            raise MalformedAggregation(f"{key} is not a non-negative integer: {str(row[key])[:30]!r}")
        counts[key] = value
    for key in PART_KEYS:
        if counts[key] > counts["measurement_count"]:
            raise MalformedAggregation(f"{key} {counts[key]} exceeds measurement_count {counts['measurement_count']}")
    return DayCounts(day=day, **counts)


def _count(value: Any) -> int | None:
    # bool is an int in Python; JSON true is not a count.
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def _day(value: Any) -> date:
    # time_grain=day: the backend formats the day as %Y-%m-%d (hour grain would add a time).
    if not isinstance(value, str) or len(value) != 10:
        raise MalformedAggregation(f"measurement_start_day is not a YYYY-MM-DD date: {str(value)[:30]!r}")
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise MalformedAggregation(f"measurement_start_day is not a date: {value!r}") from error


def _db_row_count(stats: Any) -> int | None:
    return _count(stats.get("row_count")) if isinstance(stats, dict) else None
