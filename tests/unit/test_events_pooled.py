"""Pooled onsets (analysis/events/pooled.py): a network too sparse to place its own onset follows
its country's; one whose own data say it started later keeps its own onset."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from censorwatch.analysis.events.detector import HOUR_US, Event, Params
from censorwatch.analysis.events.pooled import Rows, Scored, SeriesLayer, pooled_onset, revise_all

DAY = 24 * HOUR_US
T0 = 1_704_067_200 * 1_000_000
ONSET = T0 + 20 * DAY


def _series(per_day: int, onset: int, stray: tuple[int, ...] = ()) -> list[Scored]:
    rows: list[Scored] = []
    for index in range(30 * per_day):
        t = T0 + index * DAY // per_day
        x = int((t >= onset and index % 5 != 0) or any(abs(t - s) < DAY // per_day // 2 for s in stray))
        rows.append((t, x, f"u{t}" if x else None))
    return rows


def _event(asn: str, start: int, rows: Sequence[Scored]) -> Event:
    detected = start + 3 * DAY
    during = [x for t, x, _ in rows if start <= t <= detected]
    return Event("t.example", "XA", asn, "dns", start, None, True, 0.9, 10, 0, len(during), sum(during), 0,
                 None, None, detected)


def _rows(series: dict[str, list[Scored]]) -> Rows:
    def rows(key: SeriesLayer, lo: int, hi: int) -> list[Scored]:
        return [row for row in series[key[2]] if lo < row[0] <= hi]
    return rows


def test_the_pooled_onset_lies_at_the_common_onset() -> None:
    members = [(_series(24, ONSET), 0.05), (_series(8, ONSET + 3 * HOUR_US), 0.05)]
    at = pooled_onset(members, T0, Params())
    assert at is not None and abs(at - ONSET) <= 6 * HOUR_US


def test_a_sparse_network_with_a_stray_anomaly_follows_its_country() -> None:
    series = {
        "AS1": _series(24, ONSET), "AS2": _series(8, ONSET),
        # Two a day, a stray anomaly 40 h before the onset: its own estimate starts there.
        "AS3": _series(2, ONSET, stray=(ONSET - 40 * HOUR_US,)),
    }
    events = [_event("AS1", ONSET, series["AS1"]), _event("AS2", ONSET + HOUR_US, series["AS2"]),
              _event("AS3", ONSET - 40 * HOUR_US, series["AS3"])]
    revised = {e.probe_asn: e for e in revise_all(events, _rows(series), Params(), 48.0, 2)}
    sparse = revised["AS3"]
    assert abs(sparse.start - ONSET) <= 12 * HOUR_US
    assert sparse.own is not None and sparse.own.start == ONSET - 40 * HOUR_US
    assert sparse.first_uid is not None and int(sparse.first_uid[1:]) >= sparse.start
    assert sparse.measurements < events[2].measurements  # the stray stretch moved before the start


def test_a_network_that_complied_days_later_keeps_its_own_onset() -> None:
    late = ONSET + 4 * DAY
    series = {"AS1": _series(24, ONSET), "AS2": _series(8, ONSET), "AS3": _series(4, late)}
    events = [_event("AS1", ONSET, series["AS1"]), _event("AS2", ONSET, series["AS2"]),
              _event("AS3", late, series["AS3"])]
    revised = {e.probe_asn: e for e in revise_all(events, _rows(series), Params(), 48.0, 2)}
    assert abs(revised["AS3"].start - late) <= 12 * HOUR_US


def test_a_single_network_is_not_revised() -> None:
    series = {"AS3": _series(2, ONSET, stray=(ONSET - 40 * HOUR_US,))}
    event = _event("AS3", ONSET - 40 * HOUR_US, series["AS3"])
    assert revise_all([event], _rows(series), Params(), 48.0, 2) == [replace(event)]
