"""Synthetic countries with known blocking events, for the evaluation harness (evaluation.py).

One country: `networks` networks (a share of them flaky all the time), `targets` targets, each
(target, network) series measured at its network's rate with coverage gaps, sporadic anomalies
and failures. Some targets get an event: on one network, on several (onsets within a day), or
national (every steady network, onsets within 12 hours); blocking is partial (70-95 % of the
measurements during the event). Flaky networks get no event: they are the must-not-fire case,
with a high anomaly rate and outage bursts (hours of anomalies). All draws come from one seed."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from censorwatch.analysis.events.detector import HOUR_US
from censorwatch.model.verdict import DNS, HTTP_DIFF, HTTP_FAILURE, TCP_IP, TLS

DAY_US = 24 * HOUR_US
EPOCH_US = 1_704_067_200 * 1_000_000  # 2024-01-01 00:00 UTC
SIZES = ("one", "several", "national")
# The layers events and noise are drawn from: fixed here, not model.verdict.BLOCKING_TYPES, so
# that a new blocking type elsewhere does not change every seed's draws (and the figures).
LAYERS = (DNS, TCP_IP, TLS, HTTP_FAILURE, HTTP_DIFF)

Row = tuple[int, str | None, str | None, str | None]  # t, verdict, blocking, uid


@dataclass(frozen=True)
class Scenario:
    days: int = 70
    lead_in_days: int = 14  # no event starts before: the quiet period of every series
    networks: int = 8
    targets: int = 12
    rates: tuple[float, ...] = (1.0, 2.0, 3.0, 4.0, 8.0, 24.0)  # measurements a day, per network
    noise: tuple[float, float] = (0.02, 0.15)  # sporadic anomaly rate of a series
    failures: tuple[float, float] = (0.0, 0.2)  # share of failure verdicts
    flaky_share: float = 0.2  # share of networks that are flaky all the time
    flaky_rate: tuple[float, float] = (0.2, 0.4)
    flaky_bursts_per_week: float = 1.0
    flaky_burst_h: tuple[float, float] = (1.0, 12.0)
    gaps_per_month: float = 1.0  # coverage gaps of a network (probe offline) ...
    gap_days: tuple[float, float] = (1.0, 5.0)  # ... and how long they last
    event_share: dict[str, float] = field(default_factory=lambda: {"one": 0.2, "several": 0.2, "national": 0.2})
    block_rate: tuple[float, float] = (0.7, 0.95)
    duration_days: tuple[float, float] = (7.0, 60.0)
    short_share: float = 0.2  # events that last only ...
    short_days: tuple[float, float] = (2.0, 7.0)  # ... this long (scored apart)


@dataclass(frozen=True)
class TrueEvent:
    target: str
    probe_cc: str
    probe_asn: str | None  # None: the country-wide truth of a several-network or national event
    blocking: str
    start: int
    end: int | None  # None: still blocked when the data end
    size: str
    rate: float  # measurements a day of the network (None-network: the slowest member's)
    block_rate: float


@dataclass
class Country:
    probe_cc: str
    start: int
    end: int
    series: dict[tuple[str, str, str], list[Row]]
    truth: list[TrueEvent]
    flaky: set[str]
    rates: dict[str, float]


def generate(seed: int, scenario: Scenario = Scenario(), probe_cc: str = "XA") -> Country:
    rng = random.Random(seed)
    start = EPOCH_US
    end = start + scenario.days * DAY_US
    asns = [f"AS{64500 + i}" for i in range(scenario.networks)]
    flaky = {asn for asn in asns if rng.random() < scenario.flaky_share}
    rates = {asn: rng.choice(scenario.rates) for asn in asns}
    gaps = {asn: _gaps(rng, scenario, start, end) for asn in asns}
    steady = [asn for asn in asns if asn not in flaky]
    truth: list[TrueEvent] = []
    series: dict[tuple[str, str, str], list[Row]] = {}
    for index in range(scenario.targets):
        target = f"t{index}.example"
        events = _events(rng, scenario, target, probe_cc, steady, rates, start, end)
        truth.extend(events)
        for asn in asns:
            own = [event for event in events if event.probe_asn == asn]
            key = (target, probe_cc, asn)
            series[key] = _series(rng, scenario, key, own, rates[asn], gaps[asn], asn in flaky, start, end)
    return Country(probe_cc, start, end, series, truth, flaky, rates)


def _gaps(rng: random.Random, scenario: Scenario, start: int, end: int) -> list[tuple[int, int]]:
    count = _poisson(rng, scenario.gaps_per_month * scenario.days / 30)
    gaps = []
    for _ in range(count):
        at = rng.randrange(start, end)
        gaps.append((at, at + int(rng.uniform(*scenario.gap_days) * DAY_US)))
    return gaps


def _poisson(rng: random.Random, mean: float) -> int:
    count, total = 0, rng.expovariate(1.0)
    while total < mean:
        count += 1
        total += rng.expovariate(1.0)
    return count


def _events(
    rng: random.Random, scenario: Scenario, target: str, cc: str, steady: list[str],
    rates: dict[str, float], start: int, end: int,
) -> list[TrueEvent]:
    draw, size = rng.random(), None
    for name in SIZES:
        draw -= scenario.event_share.get(name, 0.0)
        if draw < 0:
            size = name
            break
    if size is None or not steady:
        return []
    if size == "one" or len(steady) < 3:
        members, stagger = [rng.choice(steady)], 0.0
        size = "one"
    elif size == "several":
        members, stagger = rng.sample(steady, rng.randint(2, len(steady) - 1)), 24.0
    else:
        members, stagger = list(steady), 12.0
    layer = rng.choice(LAYERS)
    days = scenario.short_days if rng.random() < scenario.short_share else scenario.duration_days
    onset = rng.randrange(start + scenario.lead_in_days * DAY_US, end - int(days[0] * DAY_US))
    duration = int(rng.uniform(*days) * DAY_US)
    block_rate = rng.uniform(*scenario.block_rate)
    events = []
    for asn in sorted(members):
        own_start = onset + int(rng.uniform(0, stagger) * HOUR_US)
        own_end = own_start + duration + int(rng.uniform(-stagger, stagger) * HOUR_US)
        events.append(TrueEvent(target, cc, asn, layer, own_start, own_end if own_end < end else None, size,
                                rates[asn], block_rate))
    if len(events) > 1:
        ends = [event.end for event in events]
        events.append(TrueEvent(
            target, cc, None, layer, min(event.start for event in events),
            None if None in ends else max(value for value in ends if value is not None), size,
            min(rates[asn] for asn in members), block_rate,
        ))
    return events


def _series(
    rng: random.Random, scenario: Scenario, key: tuple[str, str, str], events: list[TrueEvent], rate: float,
    gaps: list[tuple[int, int]], flaky: bool, start: int, end: int,
) -> list[Row]:
    noise = rng.uniform(*scenario.flaky_rate) if flaky else rng.uniform(*scenario.noise)
    failures = rng.uniform(*scenario.failures)
    # Noise hits one layer of the series (the harshest case: the event's own layer when it has one).
    noise_layer = events[0].blocking if events else rng.choice(LAYERS)
    bursts = []
    if flaky:
        for _ in range(_poisson(rng, scenario.flaky_bursts_per_week * scenario.days / 7)):
            at = rng.randrange(start, end)
            bursts.append((at, at + int(rng.uniform(*scenario.flaky_burst_h) * HOUR_US)))
    rows: list[Row] = []
    t = start
    mean_gap_us = DAY_US / rate
    while True:
        t += int(rng.expovariate(1.0) * mean_gap_us) + 1
        if t >= end:
            return rows
        if any(a <= t < b for a, b in gaps):
            continue
        # The country too: networks and targets are named alike in every synthetic country.
        uid = f"{key[0]}-{key[1]}-{key[2]}-{t}"
        if rng.random() < failures:
            rows.append((t, "failure", None, uid))
            continue
        blocked = next((event for event in events if event.start <= t and (event.end is None or t < event.end)), None)
        if blocked is not None and rng.random() < blocked.block_rate:
            rows.append((t, "anomaly", blocked.blocking, uid))
        elif any(a <= t < b for a, b in bursts) and rng.random() < 0.9:
            rows.append((t, "anomaly", "tcp_ip", uid))
        elif rng.random() < noise:
            rows.append((t, "anomaly", noise_layer, uid))
        else:
            rows.append((t, "ok", None, uid))
