"""Pooled onsets: when a target's blocking starts on several networks of a country, each network's
onset is placed with the help of the country's.

A network measured two or three times a day cannot tell one or two stray anomalies a day before
its onset from an early partial block; networks measured more often, blocked by the same order,
can. The network events of one (target, probe_cc, layer) are clustered as country.py clusters
them (onsets within `window_h` of the first, from at least `min_networks` networks). For each
cluster the pooled onset T is estimated from the members' measurements together: one onset for
all, weighed by the sum of their two-segment log-likelihoods (each member with its own baseline
p0), with onset.py's estimate. Every network event of that key that starts within `reach_h` of T
and is still on at T then has its own onset re-estimated from its own measurements (onset.py,
the series' rule for coverage gaps) under a prior that favours [T - before_h, T + after_h] by the
factor exp(boost). The network's own data can still place its onset elsewhere (an ISP that
complied days later shows ok measurements after T); only a choice its data leave open follows the
country.

The revision is a function of the detector's own events and the stored measurements, so a run
applies it to the detector's events afresh every time (the store keeps them, `Event.own`), and an
incremental run gives what a full one does.

Pure: the caller supplies the events and a function giving a series' scored measurements (t, x,
uid) at a layer within a time range (`Rows`). A member's measurements run from the end of the
series' previous event at that layer (or `lookback_h` before the onset) to its alarm."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from censorwatch.analysis.events import onset
from censorwatch.analysis.events.detector import HOUR_US, Event, Params

Scored = tuple[int, int, str | None]  # t, 1 anomalous at the layer / 0 not, the uid of an anomaly
SeriesLayer = tuple[str, str, str, str]  # target, probe_cc, probe_asn, layer
# Scored measurements of a series at a layer with lo < t <= hi, in time order.
Rows = Callable[[SeriesLayer, int, int], Sequence[Scored]]


@dataclass(frozen=True)
class PoolParams:
    """Tuned on the harness's tuning seeds only (docs/events.md)."""

    lookback_h: float = 168.0  # measurements this long before an onset inform its estimate
    reach_h: float = 168.0  # events starting this close to a pooled onset are revised
    before_h: float = 12.0  # the prior favours [T - before_h, T + after_h] ...
    after_h: float = 24.0  # (networks of one order start up to a day apart)
    boost: float = math.log(10.0)  # ... by this (log of the density ratio)
    baseline_gap_h: float = 12.0  # a member's p0 is learnt from its measurements this long before T


def _key(event: Event) -> SeriesLayer:
    assert event.probe_asn is not None
    return (event.target, event.probe_cc, event.probe_asn, event.blocking)


def fetch_span(event: Event, country_window_h: float, pool: PoolParams) -> tuple[int, int]:
    """(lo, hi]: every measurement the revision may ask for about this event."""
    back = (pool.reach_h + pool.lookback_h + country_window_h) * HOUR_US
    return event.start - int(back), event.detected


def _p0(rows: Sequence[Scored], until: int, params: Params) -> float:
    n = a = 0
    for t, x, _ in rows:
        if t >= until:
            break
        n += 1
        a += x
    p0 = (a + params.p0_prior * params.prior_weight) / (n + params.prior_weight)
    return min(max(p0, params.p0_min), params.p0_max)


def pooled_onset(members: Sequence[tuple[Sequence[Scored], float]], lo: int, params: Params) -> int | None:
    """One onset for all members (each: its rows and its p0): every onset time after `lo` weighs
    the product of the members' two-segment Bernoulli likelihoods, under a uniform prior."""
    steps: list[tuple[int, float]] = []
    for rows, p0 in members:
        up, down = math.log(params.p1 / p0), math.log((1.0 - params.p1) / (1.0 - p0))
        steps.extend((t, up if x else down) for t, x, _ in rows)
    steps.sort()
    spans: list[tuple[int, int, float]] = []
    suffix = 0.0
    for index in range(len(steps) - 1, -1, -1):
        suffix += steps[index][1]
        low = steps[index - 1][0] if index else lo
        if low < steps[index][0]:
            spans.append((low, steps[index][0], suffix))
    return onset.from_spans(spans[::-1], int(params.onset_window_h * HOUR_US))


def revise(
    event: Event, rows: Sequence[Scored], lo: int, pooled: int, params: Params, pool: PoolParams,
) -> Event:
    """The event with its onset re-estimated from `rows` (after `lo`, up to its alarm) under the
    prior around the pooled onset, and its counts and first evidence moved accordingly."""
    if not event.start_observed or not rows:
        return event
    p0 = _p0(rows, pooled - int(pool.baseline_gap_h * HOUR_US), params)
    prior = (pooled - int(pool.before_h * HOUR_US), pooled + int(pool.after_h * HOUR_US), pool.boost)
    start = onset.estimate([t for t, _, _ in rows], [bool(x) for _, x, _ in rows], lo, p0, params.p1,
                           int(params.onset_window_h * HOUR_US), int(params.gap_h * HOUR_US), prior=prior)
    if start is None or start == event.start:
        return event
    a, b = min(start, event.start), max(start, event.start)
    moved = [x for t, x, _ in rows if a <= t < b]
    shift_n, shift_a = (len(moved), sum(moved)) if start < event.start else (-len(moved), -sum(moved))
    first = next((uid for t, x, uid in rows if x and t >= start), event.first_uid)
    return replace(
        event, start=start, measurements=event.measurements + shift_n, anomalous=event.anomalous + shift_a,
        before_measurements=max(event.before_measurements - shift_n, 0),
        before_anomalous=max(event.before_anomalous - shift_a, 0), first_uid=first,
    )


def _revise_key(
    events: list[Event], rows: Rows, params: Params, window_h: float, min_networks: int, pool: PoolParams,
) -> list[Event]:
    """The network events of one (target, probe_cc, layer), in order of start."""
    # A member's measurements start after the previous event of its series (it ended before).
    previous_end: dict[int, int] = {}
    last: dict[SeriesLayer, int] = {}
    for index, event in enumerate(events):
        if _key(event) in last:
            previous_end[index] = last[_key(event)]
        if event.end is not None:
            last[_key(event)] = event.end

    def own_rows(index: int, lo: int) -> tuple[Sequence[Scored], int]:
        lo = max(lo, previous_end.get(index, lo))
        return rows(_key(events[index]), lo, events[index].detected), lo

    pooled: list[int] = []
    first = 0
    while first < len(events):
        end = first
        while end < len(events) and events[end].start - events[first].start <= window_h * HOUR_US:
            end += 1
        cluster = range(first, end)
        first = end
        if len({events[index].probe_asn for index in cluster}) < min_networks:
            continue
        centre = int(statistics.median_low(events[index].start for index in cluster))
        lo = centre - int(pool.lookback_h * HOUR_US)
        members = []
        for index in cluster:
            member, _ = own_rows(index, lo)
            members.append((member, _p0(member, centre - int(pool.baseline_gap_h * HOUR_US), params)))
        at = pooled_onset(members, lo, params)
        if at is not None:
            pooled.append(at)
    out = list(events)
    reach = int(pool.reach_h * HOUR_US)
    for index, event in enumerate(events):
        near = [t for t in pooled if abs(event.start - t) <= reach and (event.end is None or event.end > t)]
        if near:
            at = min(near, key=lambda t: (abs(event.start - t), t))
            member, lo = own_rows(index, at - int(pool.lookback_h * HOUR_US))
            out[index] = revise(event, member, lo, at, params, pool)
    return out


def revise_all(
    events: Iterable[Event], rows: Rows, params: Params, window_h: float, min_networks: int,
    pool: PoolParams = PoolParams(),
) -> list[Event]:
    """The detector's network events (any keys) with their onsets revised, in order of (target,
    probe_cc, layer, start, probe_asn); each revised one keeps the detector's in `own`."""
    by_key: dict[tuple[str, str, str], list[Event]] = defaultdict(list)
    for event in events:
        by_key[(event.target, event.probe_cc, event.blocking)].append(event)
    out: list[Event] = []
    for key in sorted(by_key):
        ordered = sorted(by_key[key], key=lambda event: (event.start, event.probe_asn or ""))
        for old, new in zip(ordered, _revise_key(ordered, rows, params, window_h, min_networks, pool),
                            strict=True):
            out.append(new if new is old else replace(new, own=old))
    out.sort(key=lambda event: (event.target, event.probe_cc, event.blocking, event.start, event.probe_asn or ""))
    return out
