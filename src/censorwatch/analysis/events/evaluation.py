"""The evaluation harness: detection on synthetic countries (synthetic.py) scored against the
injected truth, with OONI's metrics (EVENTS-NOTES.md, ooni/data event_eval.py):

* recall: a true event is hit when a detected event of the same series and layer has its onset
  within +-24 h of the true onset; events the probes did not cover (fewer than two scored
  measurements while blocked) are left out, as OONI's harness does;
* false events per 100 quiet series-weeks: detected onsets outside every true event of the
  series (+-24 h around it), over the series' time outside those events;
* median onset and end error (hours) of the hits; the end of the last detected event that
  overlaps the true one, when both have ended;
* alerts per true event: detected events overlapping a hit true event (1.0 = no fragments);
* latency: from the true onset to the measurement that raised the alarm.

Network events are scored per size of the true event (one network, several, national); the
country-wide events against the country-wide truth of several-network and national events."""

from __future__ import annotations

import statistics
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from censorwatch.analysis.events.country import CountryParams, country_events
from censorwatch.analysis.events.detector import HOUR_US, Event, Params
from censorwatch.analysis.events.pooled import PoolParams, Scored, SeriesLayer, revise_all
from censorwatch.analysis.events.series import UNKNOWN_LAYER, detect_series
from censorwatch.analysis.events.synthetic import DAY_US, Country, Row, Scenario, TrueEvent, generate

HIT_WINDOW_US = 24 * HOUR_US
WEEK_US = 7 * DAY_US


@dataclass
class Score:
    """Figures of one class of true events (and the false events of the matching kind)."""

    events: int = 0
    hits: int = 0
    onset_errors_h: list[float] = field(default_factory=list)
    end_errors_h: list[float] = field(default_factory=list)
    latencies_h: list[float] = field(default_factory=list)
    alerts: int = 0
    uncovered: int = 0

    def add(self, other: Score) -> None:
        self.events += other.events
        self.hits += other.hits
        self.onset_errors_h += other.onset_errors_h
        self.end_errors_h += other.end_errors_h
        self.latencies_h += other.latencies_h
        self.alerts += other.alerts
        self.uncovered += other.uncovered

    def summary(self) -> dict[str, float | int | None]:
        return {
            "events": self.events,
            "recall": round(self.hits / self.events, 4) if self.events else None,
            "median_onset_error_h": _median(self.onset_errors_h),
            "median_end_error_h": _median(self.end_errors_h),
            "median_latency_h": _median(self.latencies_h),
            "alerts_per_event": round(self.alerts / self.hits, 3) if self.hits else None,
            "uncovered": self.uncovered,
        }


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


@dataclass
class Report:
    classes: dict[str, Score] = field(default_factory=lambda: defaultdict(Score))
    false_events: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    quiet_weeks: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def add(self, other: Report) -> None:
        for name, score in other.classes.items():
            self.classes[name].add(score)
        for name, count in other.false_events.items():
            self.false_events[name] += count
        for name, weeks in other.quiet_weeks.items():
            self.quiet_weeks[name] += weeks

    def false_per_100_weeks(self, kind: str) -> float | None:
        weeks = self.quiet_weeks.get(kind, 0.0)
        return round(100 * self.false_events.get(kind, 0) / weeks, 3) if weeks else None

    def as_dict(self) -> dict[str, object]:
        return {
            "classes": {name: self.classes[name].summary() for name in sorted(self.classes)},
            "false_events_per_100_series_weeks": {
                kind: self.false_per_100_weeks(kind) for kind in sorted(self.quiet_weeks)
            },
            "false_events": dict(sorted(self.false_events.items())),
            "quiet_series_weeks": {kind: round(weeks, 1) for kind, weeks in sorted(self.quiet_weeks.items())},
        }


def evaluate(
    seeds: Iterable[int], scenario: Scenario = Scenario(), params: Params = Params(),
    country: CountryParams = CountryParams(), pool: PoolParams | None = PoolParams(),
) -> Report:
    report = Report()
    for seed in seeds:
        report.add(score_country(generate(seed, scenario), params, country, pool))
    return report


def pooled_events(
    data: Country, found: dict[tuple[str, str, str], list[Event]], params: Params, country: CountryParams,
    pool: PoolParams,
) -> dict[tuple[str, str, str], list[Event]]:
    """The network events with their onsets revised by the pooled onsets (pooled.py), as a run
    of the store does after detection."""
    def rows(key: SeriesLayer, lo: int, hi: int) -> list[Scored]:
        target, cc, asn, layer = key
        series = data.series[(target, cc, asn)]
        out: list[Scored] = []
        for t, verdict, blocking, uid in series[bisect_right(series, (lo, "~")):]:
            if t > hi:
                break
            if verdict in ("ok", "anomaly", "confirmed"):
                x = int(verdict != "ok" and (blocking or UNKNOWN_LAYER) == layer)
                out.append((t, x, uid if x else None))
        return out

    out: dict[tuple[str, str, str], list[Event]] = {key: [] for key in found}
    everything = [event for events in found.values() for event in events]
    for event in revise_all(everything, rows, params, country.window_h, country.min_networks, pool):
        assert event.probe_asn is not None
        out[(event.target, event.probe_cc, event.probe_asn)].append(event)
    return out


def score_country(
    data: Country, params: Params, country: CountryParams = CountryParams(), pool: PoolParams | None = PoolParams(),
) -> Report:
    report = Report()
    detected: list[Event] = []
    by_series = {key: detect_series(params, key, rows) for key, rows in data.series.items()}
    if pool is not None:
        by_series = pooled_events(data, by_series, params, country, pool)
    for key, rows in data.series.items():
        found = by_series[key]
        detected.extend(found)
        truth = [event for event in data.truth if (event.target, event.probe_cc, event.probe_asn) == key]
        kind = "flaky" if key[2] in data.flaky else "steady"
        _score_series(report, found, truth, rows, data.rates[key[2]], kind, data.end)
    by_target: dict[tuple[str, str], list[Event]] = defaultdict(list)
    for event in sorted(detected, key=lambda event: event.start):
        by_target[(event.target, event.blocking)].append(event)
    national = [event for events in by_target.values() for event in country_events(events, country)]
    for target in {key[0] for key in data.series}:
        truth = [event for event in data.truth if event.target == target and event.probe_asn is None]
        found = [event for event in national if event.target == target]
        _score_country_target(report, found, truth, data)
    return report


# By the ok or anomalous measurements during an event (under 2, an event is not scored).
_MEASURED_CLASSES = (("2-5", 5), ("6-11", 11), ("12-23", 23))


def _rate_class(rate: float) -> str:
    return "1/day" if rate < 2 else ">=2/day"


def _measured_class(scored: int) -> str:
    """How many ok or anomalous measurements an event had: what evidence any detector gets."""
    return next((label for label, most in _MEASURED_CLASSES if scored <= most), "24+")


def _score_series(
    report: Report, found: list[Event], truth: list[TrueEvent], rows: list[Row], rate: float, kind: str,
    data_end: int,
) -> None:
    windows = []
    for true in truth:
        true_end = true.end if true.end is not None else data_end
        windows.append((true.start - HIT_WINDOW_US, true_end + HIT_WINDOW_US))
        scored = sum(1 for t, verdict, _, _ in rows if true.start <= t < true_end and verdict in ("ok", "anomaly"))
        short = (true_end - true.start) < 7 * DAY_US
        names = [f"network/{'short<7d' if short else true.size}/{_rate_class(rate)}"]
        if not any(true.start <= t < true.start + HIT_WINDOW_US and verdict in ("ok", "anomaly")
                   for t, verdict, _, _ in rows):
            # No measurement in the day after the onset (a coverage gap, or a slow network's
            # chance): no detector can place that onset within the hit window. Scored apart.
            names = [f"network/onset-not-covered/{_rate_class(rate)}"]
        else:
            names.append(f"network/by-rate/{rate:g}/day")
            if rate >= 2:
                names.append(f"network/by-measured/{_measured_class(scored)}")
        for name in names:
            _score_event(report.classes[name], true, found, scored, data_end)
    _count_false(report, found, windows, rows, kind)


def _score_event(score: Score, true: TrueEvent, found: list[Event], scored: int, data_end: int) -> None:
    if scored < 2:
        score.uncovered += 1
        return
    score.events += 1
    same = [event for event in found if event.blocking == true.blocking]
    hits = [event for event in same if abs(event.start - true.start) <= HIT_WINDOW_US]
    if not hits:
        return
    hit = min(hits, key=lambda event: abs(event.start - true.start))
    score.hits += 1
    score.onset_errors_h.append(abs(hit.start - true.start) / HOUR_US)
    score.latencies_h.append(max(0, hit.detected - true.start) / HOUR_US)
    true_end = true.end if true.end is not None else data_end
    overlapping = [
        event for event in same
        if event.start <= true_end + HIT_WINDOW_US and (event.end is None or event.end >= true.start - HIT_WINDOW_US)
    ]
    score.alerts += len(overlapping)
    last = max(overlapping, key=lambda event: event.start)
    if true.end is not None and last.end is not None:
        score.end_errors_h.append(abs(last.end - true.end) / HOUR_US)


def _count_false(
    report: Report, found: list[Event], windows: list[tuple[int, int]],
    rows: list[Row], kind: str,
) -> None:
    if not rows:
        return
    first, last = rows[0][0], rows[-1][0]
    busy = 0
    for a, b in windows:
        busy += max(0, min(b, last) - max(a, first))
    report.quiet_weeks[kind] += max(0, last - first - busy) / WEEK_US
    report.false_events[kind] += sum(
        1 for event in found if not any(a <= event.start <= b for a, b in windows)
    )


def _score_country_target(report: Report, found: list[Event], truth: list[TrueEvent], data: Country) -> None:
    windows = []
    for true in truth:
        true_end = true.end if true.end is not None else data.end
        windows.append((true.start - HIT_WINDOW_US, true_end + HIT_WINDOW_US))
        _score_event(report.classes[f"country/{true.size}"], true, found, 2, data.end)
    busy = sum(max(0, min(b, data.end) - max(a, data.start)) for a, b in windows)
    report.quiet_weeks["country"] += max(0, data.end - data.start - busy) / WEEK_US
    report.false_events["country"] += sum(
        1 for event in found if not any(a <= event.start <= b for a, b in windows)
    )
