"""The series detector and the country clustering on hand-built series with known answers."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace

import orjson

from censorwatch.analysis.events import onset
from censorwatch.analysis.events.country import country_events
from censorwatch.analysis.events.detector import HOUR_US, LayerState, Params, _blend
from censorwatch.analysis.events.series import SeriesGroup, detect_series
from censorwatch.analysis.events.synthetic import EPOCH_US

KEY = ("blocked.example", "RU", "AS12389")
Row = tuple[int, str | None, str | None, str | None]


def series(days: int, per_day: int, blocked: Sequence[tuple[int, int | None, float]] = (),
           noise: float = 0.0, seed: int = 1, layer: str = "dns") -> list[Row]:
    """Evenly spaced measurements; `blocked` holds (first day, last day or None, anomaly share)."""
    rng = random.Random(seed)
    rows: list[Row] = []
    step = 24 * HOUR_US // per_day
    for index in range(days * per_day):
        t = EPOCH_US + index * step
        day = index // per_day
        share = next((p for a, b, p in blocked if a <= day and (b is None or day <= b)), noise)
        anomalous = rng.random() < share
        rows.append((t, "anomaly" if anomalous else "ok", layer if anomalous else None, f"u{index}"))
    return rows


def day(n: float) -> int:
    return EPOCH_US + int(n * 24 * HOUR_US)


def test_a_clean_block_has_its_onset_and_end() -> None:
    events = detect_series(Params(), KEY, series(60, 4, [(20, 39, 1.0)]))
    assert len(events) == 1
    event = events[0]
    assert abs(event.start - day(20)) <= 6 * HOUR_US
    assert event.end is not None and abs(event.end - day(40)) <= 6 * HOUR_US
    assert event.blocking == "dns" and event.start_observed
    assert event.first_uid == "u80" and event.last_uid == "u159"
    assert event.measurements == event.anomalous == 80
    assert event.before_anomalous == 0 and event.confidence > 0.99


def test_partial_blocking_is_one_event() -> None:
    events = detect_series(Params(), KEY, series(70, 3, [(20, 49, 0.7)], noise=0.05, seed=4))
    assert len(events) == 1
    assert abs(events[0].start - day(20)) <= 24 * HOUR_US


def test_an_ongoing_block_has_no_end() -> None:
    events = detect_series(Params(), KEY, series(40, 2, [(25, None, 0.9)], seed=2))
    assert len(events) == 1 and events[0].end is None


def test_must_not_fire_on_sporadic_noise_or_a_flaky_network() -> None:
    for seed in range(5):
        assert detect_series(Params(), KEY, series(120, 8, noise=0.15, seed=seed)) == []
        assert detect_series(Params(), KEY, series(120, 8, noise=0.35, seed=seed)) == []


def test_a_burst_of_hours_is_not_an_event() -> None:
    rows = series(40, 24, noise=0.02, seed=3)
    burst = [(t, "anomaly", "dns", uid) if day(20) <= t < day(20.4) else (t, v, b, uid) for t, v, b, uid in rows]
    assert detect_series(Params(), KEY, burst) == []


def test_failures_are_no_evidence() -> None:
    rows = series(60, 4, [(20, 39, 1.0)])
    with_failures = [(t, "failure", None, uid) if i % 3 == 0 else row
                     for i, row in enumerate(rows) for t, _, _, uid in [row]]
    events = detect_series(Params(), KEY, with_failures)
    assert len(events) == 1
    assert abs(events[0].start - day(20)) <= 12 * HOUR_US


def test_a_layer_change_ends_one_event_and_starts_another() -> None:
    rows = series(60, 4, [(20, 39, 1.0)])
    moved = [(t, "anomaly", "tcp_ip", uid) if t >= day(30) and v == "anomaly" else (t, v, b, uid)
             for t, v, b, uid in rows]
    events = sorted(detect_series(Params(), KEY, moved), key=lambda event: event.start)
    assert [event.blocking for event in events] == ["dns", "tcp_ip"]
    assert events[0].end is not None and abs(events[0].end - day(30)) <= 6 * HOUR_US


def test_a_series_blocked_from_the_outset_says_so() -> None:
    events = detect_series(Params(), KEY, series(30, 4, [(0, None, 1.0)]))
    assert len(events) == 1 and not events[0].start_observed and events[0].start == EPOCH_US


def test_resuming_from_saved_state_equals_one_pass() -> None:
    rows = series(80, 3, [(20, 35, 0.8), (50, None, 0.9)], noise=0.1, seed=7)
    whole = detect_series(Params(), KEY, rows)
    first = SeriesGroup(Params(), *KEY)
    for row in rows[:130]:
        first.add(*row)
    closed = first.closed_events()
    second = SeriesGroup(Params(), *KEY, state=first.saved())
    for row in rows[130:]:
        second.add(*row)
    assert closed + second.events() == whole


def test_a_layer_born_late_matches_one_followed_from_the_start() -> None:
    params = Params()
    quiet = LayerState.fresh(params)
    p0, weight = quiet.p0, quiet.weight
    for _ in range(137):
        p0, weight = _blend(p0, weight, 1, 0.0, params.memory)
    state = LayerState.after_quiet(params, 137, None)
    assert abs(state.p0 - p0) < 1e-12 and state.weight == weight


def test_networks_starting_together_make_a_country_event() -> None:
    rows = {asn: series(60, 4, [(20, 39, 1.0)], seed=i) for i, asn in enumerate(("AS1", "AS2", "AS3"))}
    found = sorted((event for asn, r in rows.items()
                    for event in detect_series(Params(), ("x.example", "IR", asn), r)), key=lambda e: e.start)
    national = list(country_events(found))
    assert len(national) == 1
    assert national[0].probe_asn is None and national[0].networks == ["AS1", "AS2", "AS3"]
    assert national[0].start == min(event.start for event in found)
    lone = [event for event in found if event.probe_asn == "AS1"]
    assert list(country_events(lone)) == []


def test_a_block_whose_first_measurements_are_ok_has_its_onset_within_a_day() -> None:
    # Sparse measurements (times in hours from the onset): the first anomaly is followed by two ok
    # ones, so the CUSUM's run dies out and restarts a day and a half late; the likelihood
    # re-estimate at the alarm weighs the first anomaly too.
    quiet = [(day(20) - h * HOUR_US, "ok", None, f"q{h}") for h in range(480, 0, -12)]
    onset_h = [(-4, "ok"), (12, "anomaly"), (13, "ok"), (35, "ok"), (36, "anomaly"), (39, "anomaly"), (48, "ok")]
    onset_h += [(h, "anomaly") for h in range(61, 400, 8)]
    rows: list[Row] = quiet + [(day(20) + h * HOUR_US, v, "dns" if v == "anomaly" else None, f"b{h}")
                               for h, v in onset_h]
    old = detect_series(replace(Params(), history=0), KEY, rows)
    assert len(old) == 1 and old[0].start > day(20) + 24 * HOUR_US  # what the re-estimate fixes
    events = detect_series(Params(), KEY, rows)
    assert len(events) == 1 and abs(events[0].start - day(20)) <= 24 * HOUR_US
    assert events[0].first_uid == "b12"
    assert events[0].measurements + events[0].before_measurements == len(rows)


def test_the_onset_estimate_stays_in_a_coverage_gap_s_last_day() -> None:
    times = [day(0), day(0.5), day(5), day(5.5), day(6), day(6.5)]
    start = onset.estimate(times, [False, False, True, True, True, True], None, 0.05, 0.8,
                           24 * HOUR_US, 24 * HOUR_US)
    assert start is not None and day(4) <= start < day(5)
    assert onset.estimate([day(1)], [True], None, 0.05, 0.8, 24 * HOUR_US, 24 * HOUR_US) is None


def test_resuming_just_before_an_alarm_equals_one_pass() -> None:
    rows = series(60, 3, [(20, 40, 0.75)], noise=0.1, seed=11)
    whole = detect_series(Params(), KEY, rows)
    alarm = whole[0].detected
    cut = next(i for i, row in enumerate(rows) if row[0] >= alarm) - 1
    first = SeriesGroup(Params(), *KEY)
    for row in rows[:cut]:
        first.add(*row)
    saved = orjson.loads(orjson.dumps(first.saved().layers))
    second = SeriesGroup(Params(), *KEY, state=replace(first.saved(), layers=saved))
    for row in rows[cut:]:
        second.add(*row)
    assert first.closed_events() + second.events() == whole
