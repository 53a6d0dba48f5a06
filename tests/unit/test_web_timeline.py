"""The timeline's geometry (web/timeline.py) on hand-made data: levels, weekly columns over long
spans, ticks, clipping to the axis, the lane budget, and nothing drawn without an axis."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from censorwatch.web import timeline
from censorwatch.web.target_timeline import first_day


def day(d: date, ok: int = 0, anomaly: int = 0, confirmed: int = 0, failure: int = 0) -> dict[str, Any]:
    return {"day": d.isoformat(), "ok": ok, "anomaly": anomaly, "confirmed": confirmed, "failure": failure}


def data(start: str, end: str, rows: list[dict[str, Any]], **more: Any) -> dict[str, Any]:
    return {"target": "example.org", "axis": {"start": start, "end": end}, "rows": rows,
            "register": more.get("register", []), "documents": more.get("documents", []),
            "requests": more.get("requests", [])}


def row(cc: str, asn: str | None, days: list[dict[str, Any]], events: list[dict[str, Any]] | None = None) -> dict[
        str, Any]:
    return {"probe_cc": cc, "probe_asn": asn, "network_name": None, "days": days, "events": events or []}


@pytest.mark.parametrize(("counts", "expected"), [
    ({"ok": 5}, 1), ({"failure": 3}, 0), ({"ok": 9, "anomaly": 1}, 2), ({"ok": 6, "anomaly": 4}, 3),
    ({"ok": 1, "anomaly": 4}, 4), ({"ok": 9, "confirmed": 1}, 5), ({"anomaly": 1, "failure": 9}, 2),
])
def test_levels(counts: dict[str, int], expected: int) -> None:
    assert timeline.level({"ok": 0, "anomaly": 0, "confirmed": 0, "failure": 0, **counts}) == expected


@pytest.mark.parametrize(("text", "expected"), [("2024", "2024-01-01"), ("2024-02", "2024-02-01"),
                                                ("2024-02-29", "2024-02-29"), ("soon", None), (None, None)])
def test_request_dates_are_placed_on_their_first_day(text: str | None, expected: str | None) -> None:
    assert first_day(text) == expected


def test_nothing_to_draw() -> None:
    assert timeline.chart(None) is None
    assert timeline.chart(data("", "", [])) is None


def test_a_year_is_drawn_by_week_with_month_ticks() -> None:
    start = date(2024, 1, 1)
    days = [day(start + timedelta(days=n), ok=1) for n in range(366)]
    drawn = timeline.chart(data("2024-01-01", "2024-12-31", [row("IR", None, days)]))
    assert drawn is not None and drawn.bucket_days == 7
    (lane,) = drawn.lanes
    assert len(lane.cells) == 53 and all(cell.level == 1 for cell in lane.cells)
    assert "7 days from 2024-01-01" in lane.cells[0].label and "7 of 7 blocked" not in lane.cells[0].label
    assert [tick.label for tick in drawn.ticks] == [f"2024-{m:02d}" for m in range(1, 13, 2)]
    xs = [cell.x for cell in lane.cells]
    assert xs == sorted(xs) and xs[0] == drawn.label_width and xs[-1] < drawn.width


def test_events_are_clipped_to_the_axis_and_ongoing_ones_run_to_its_end() -> None:
    events = [{"start": "2023-12-01 00:00:00", "end": "2024-01-05 12:00:00", "blocking": "dns", "confidence": 0.9},
              {"start": "2024-01-20 00:00:00", "end": None, "blocking": "tls", "confidence": 0.6,
               "start_observed": False}]
    drawn = timeline.chart(data("2024-01-01", "2024-01-31", [row("RU", "AS1", [day(date(2024, 1, 2), anomaly=1)],
                                                                 events)]))
    assert drawn is not None
    first, second = drawn.lanes[0].bars
    assert first.x == drawn.label_width and not first.ongoing
    assert second.ongoing and round(second.x + second.width, 2) == drawn.width - timeline.RIGHT
    assert "(or before)" in second.label and "ongoing" in second.label
    assert [tick.label for tick in drawn.ticks] == ["2024-01-01", "2024-01-08", "2024-01-15", "2024-01-22",
                                                   "2024-01-29"]


def test_lane_budget_keeps_every_country() -> None:
    rows = []
    for index in range(30):
        cc = f"C{chr(65 + index % 26)}" if index < 26 else f"D{chr(65 + index - 26)}"
        rows.append(row(cc, None, []))
        rows.extend(row(cc, f"AS{index * 10 + n}", []) for n in range(3))
    drawn = timeline.chart(data("2024-01-01", "2024-01-10", rows))
    assert drawn is not None
    assert len(drawn.lanes) == timeline.MAX_LANES and drawn.hidden_lanes == 120 - timeline.MAX_LANES
    assert sum(lane.country for lane in drawn.lanes) == 30


def test_tracks_and_guides() -> None:
    entry = {"list": "dump", "match": "domain", "authority": "суд", "decision": "1", "decision_date": None,
             "names": ["example.org"], "block_type": None}
    register = [{"date": "2024-01-01", "change": "added", "listed_before": True, "entry": entry},
                {"date": "2024-01-08", "change": "removed", "listed_before": False, "entry": entry}]
    documents = [{"doc_id": "d1", "title": "Order", "date": "2024-01-03"},
                 {"doc_id": "d2", "title": "Undated", "date": None}]
    requests = [{"request_id": "r1", "date": "2024-01", "requester": "A", "recipient": "B", "action": "block",
                 "outcome": "unknown"}]
    drawn = timeline.chart(data("2024-01-01", "2024-01-10", [], register=register, documents=documents,
                                requests=requests))
    assert drawn is not None
    assert [track.label for track in drawn.tracks] == ["Register (RU)", "Documents", "Requests"]
    assert [guide.kind for guide in drawn.guides] == ["removed"]  # the first snapshot's entry: no guide
    assert drawn.undated == 1 and len(drawn.tracks[1].marks) == 1
    assert drawn.tracks[1].marks[0].href == "/archive/doc/d1"
    assert drawn.tracks[2].marks[0].x == drawn.label_width  # known to the month: its first day
    assert "since its first stored snapshot" in drawn.tracks[0].marks[0].label
