"""Onset and end of blocking in one series: a two-sided Bernoulli CUSUM per blocking layer.

A series is (target, probe_cc, probe_asn, layer); its measurements are scored one by one, in time
order: 1 for an anomaly (or confirmed) of that layer, 0 for an ok verdict or an anomaly of
another layer (the censor blocks elsewhere, or moved on: evidence that this layer is open).
Failures are no evidence either way and never reach the detector. docs/events.md gives the
reasoning and the measured accuracy of every parameter below; EVENTS-NOTES.md OONI's detector,
which this one follows (two states, threshold, decay after gaps) with three changes that the
evaluation harness showed were needed on synthetic data:

* the "ok" anomaly rate p0 is learnt per series (a network that is flaky all the time gets a high
  baseline instead of a stream of false events), and the steps are log-likelihood ratios of a
  Bernoulli between p0 and the blocked rate p1, not fixed scores;
* an alarm needs anomalies spread over `min_span_on_h` hours, not only a high statistic: a burst
  of anomalies within a few hours (a network outage) cannot open an event;
* the statistic is clipped a little above its threshold, so that such a burst is forgotten after a
  few ok measurements instead of lending its weight to the next sporadic anomaly.

The detector is pure (no I/O) and its whole state serialises to JSON: the store keeps it between
runs, so an incremental run resumes exactly where the last one stopped."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

from censorwatch.analysis.events import onset

HOUR_US = 3_600_000_000


@dataclass(frozen=True)
class Params:
    """Tuned on the harness's tuning seeds only (bench/bench_events_accuracy.py --tune)."""

    p0_prior: float = 0.05  # anomaly rate assumed of a series before it has been seen
    prior_weight: float = 5.0  # how many measurements that assumption is worth
    p0_min: float = 0.05  # floor of the learnt rate: a clean series still sees a stray anomaly
    p0_max: float = 0.45  # ceiling: a series above it is blocked, not flaky
    p1: float = 0.8  # anomaly rate of the blocked state (partial blocking is 70-95 %)
    memory: float = 100.0  # the learnt rate is an average over about this many measurements
    warmup: int = 10  # measurements scored before a series may raise an alarm
    h_on: float = 10.0  # threshold of the onset statistic (log-likelihood ratio)
    h_off: float = 8.0  # threshold of the end statistic
    clip: float = 3.0  # statistics are clipped at threshold + clip
    min_span_on_h: float = 24.0  # hours from the first to the latest anomaly before an onset alarm
    min_span_off_h: float = 24.0  # hours of the ok run before an end alarm
    gap_h: float = 24.0  # a pause longer than this decays the statistics ...
    half_life_h: float = 48.0  # ... with this half-life (OONI's detector: 24 h and 48 h)
    history: int = 96  # scored measurements kept to re-estimate an onset at the alarm (onset.py)
    onset_window_h: float = 24.0  # the onset estimate maximises the chance of being this close

    def key(self) -> str:
        """Identifies the parameters: stored state computed under others is recomputed."""
        return ",".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self))


@dataclass
class Event:
    """One blocking event of one series (probe_asn None: country-wide, analysis/events/country.py).
    Times are microseconds since the epoch (UTC)."""

    target: str
    probe_cc: str
    probe_asn: str | None
    blocking: str
    start: int
    end: int | None
    start_observed: bool
    confidence: float
    before_measurements: int
    before_anomalous: int
    measurements: int
    anomalous: int
    confirmed: int
    first_uid: str | None
    last_uid: str | None
    detected: int
    networks: list[str] = field(default_factory=list)
    # The detector's own event when the pooled onset (pooled.py) revised this one: its start,
    # counts and first evidence, from which every run revises afresh.
    own: Event | None = None


def _sigmoid(value: float) -> float:
    if value < -50:
        return 0.0
    return 1.0 / (1.0 + math.exp(-value))


@dataclass(slots=True)
class LayerState:
    """The CUSUM of one layer. Public fields are its serialised form."""

    n: int = 0  # measurements scored
    p0: float = 0.05
    weight: float = 5.0  # measurements behind p0 (capped at Params.memory)
    blocked: bool = False
    stat: float = 0.0  # onset statistic while ok, end statistic while blocked
    last_t: int | None = None
    warm_first_t: int | None = None  # first anomaly during the warm-up (start of a series blocked from the outset)
    warm_first_uid: str | None = None
    calm_since_warmup: bool = False
    # Counts of the current calm stretch (state ok, statistic at zero) and of the candidate run
    # that started when the statistic left zero.
    calm_n: int = 0
    calm_a: int = 0
    run_n: int = 0
    run_a: int = 0
    run_sum: float = 0.0
    run_t: int | None = None  # first anomaly of the candidate run: the onset if it turns into an event
    run_prev_t: int | None = None  # the scored measurement before it
    prev_t: int | None = None  # the scored measurement before the current one
    run_uid: str | None = None
    run_confirmed: int = 0
    last_anom_t: int | None = None
    last_anom_uid: str | None = None
    # The open event.
    ev_start: int | None = None
    ev_start_uid: str | None = None
    ev_observed: bool = True
    ev_before_n: int = 0
    ev_before_a: int = 0
    ev_n: int = 0
    ev_a: int = 0
    ev_confirmed: int = 0
    ev_llr: float = 0.0
    ev_llr_max: float = 0.0
    ev_detected: int | None = None
    off_t: int | None = None  # first ok measurement of the run that may end the event
    off_last_t: int | None = None  # last anomaly before it
    off_last_uid: str | None = None
    off_n: int = 0
    off_a: int = 0
    off_confirmed: int = 0
    # The latest scored measurements, t * 2 + x, oldest first; the uids of their anomalies; the
    # time of the measurement before the first one (onset re-estimation, onset.py).
    hist: list[int] = field(default_factory=list)
    hist_uids: list[str | None] = field(default_factory=list)
    hist_before: int | None = None

    @classmethod
    def fresh(cls, params: Params) -> LayerState:
        return cls(p0=params.p0_prior, weight=params.prior_weight)

    @classmethod
    def after_quiet(cls, params: Params, scored: int, last_t: int | None) -> LayerState:
        """The state `scored` measurements of score 0 leave behind: a layer gets a series of its
        own at its first anomaly, as if it had been followed from the group's first measurement."""
        state = cls.fresh(params)
        state.p0, state.weight = _blend(state.p0, state.weight, scored, 0.0, params.memory)
        state.n = scored
        state.calm_n = scored
        state.calm_since_warmup = scored > params.warmup
        state.last_t = last_t
        # Their times are not kept: the onset is placed after the last of them at the earliest,
        # where it would almost surely be anyway (they were all ok for this layer).
        state.hist_before = last_t
        return state

    def as_dict(self) -> dict[str, Any]:
        # Scalars and flat lists only, so a shallow copy will do: asdict's deep copy of every
        # history entry was 40 % of an incremental run that touches every series.
        values = ((name, getattr(self, name)) for name in _LAYER_FIELDS)
        return {name: list(value) if isinstance(value, list) else value for name, value in values}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LayerState:
        return cls(**data)


_LAYER_FIELDS = tuple(item.name for item in fields(LayerState))


def _blend(p0: float, weight: float, count: int, value: float, memory: float) -> tuple[float, float]:
    """p0 after `count` observations of `value`, each moving it by 1/weight, weight growing by one
    per observation up to `memory` (a running mean that turns into an exponential average)."""
    if count <= 0:
        return p0, weight
    keep = 1.0
    uncapped = max(0, min(count, math.ceil(memory - weight)))
    if uncapped:
        # prod (1 - 1/(w+i)) for i = 1..k telescopes to w / (w + k)
        keep = weight / (weight + uncapped)
        weight += uncapped
    rest = count - uncapped
    if rest:
        weight = min(weight, memory)
        keep *= (1.0 - 1.0 / weight) ** rest
    return value + (p0 - value) * keep, weight


def _between(before: int | None, after: int, cap_h: float) -> int:
    """The time of a change seen first at `after`, the measurement before it at `before`: the
    change is equally likely anywhere between them, and the midpoint minimises the expected
    error (a day at most before `after`: across a coverage gap, nothing says when)."""
    if before is None or before >= after:
        return after
    return max((before + after) // 2, after - int(cap_h * HOUR_US) // 2)


class LayerDetector:
    """Feeds one layer's scores to its CUSUM; collects the events it closes."""

    __slots__ = ("closed", "key", "params", "s")

    def __init__(self, params: Params, state: LayerState, key: tuple[str, str, str, str]) -> None:
        self.params = params
        self.s = state
        self.key = key
        self.closed: list[Event] = []

    def _rates(self) -> tuple[float, float]:
        p = self.params
        p0 = min(max(self.s.p0, p.p0_min), p.p0_max)
        return math.log(p.p1 / p0), math.log((1.0 - p.p1) / (1.0 - p0))

    def observe(self, t: int, x: int, uid: str | None, confirmed: bool) -> None:
        """One scored measurement: x = 1 anomalous at this layer, 0 not."""
        s, p = self.s, self.params
        if s.last_t is not None and t - s.last_t > p.gap_h * HOUR_US:
            # A pause: the evidence before it says less about what follows (OONI: 24 h, 48 h).
            idle_h = (t - s.last_t) / HOUR_US - p.gap_h
            s.stat *= 0.5 ** (idle_h / p.half_life_h)
        s.prev_t, s.last_t = s.last_t, t
        s.n += 1
        self._remember(t, x, uid)
        if x:
            s.last_anom_t, s.last_anom_uid = t, uid
        if s.n <= p.warmup:
            self._warm(t, x, uid)
        elif s.blocked:
            self._while_blocked(t, x, uid, confirmed)
        else:
            self._while_ok(t, x, uid, confirmed)

    def _remember(self, t: int, x: int, uid: str | None) -> None:
        s = self.s
        s.hist.append(t * 2 + x)
        if x:
            s.hist_uids.append(uid)
        while len(s.hist) > self.params.history:
            self._forget_oldest()

    def _forget_oldest(self) -> None:
        s = self.s
        oldest = s.hist.pop(0)
        s.hist_before = oldest >> 1
        if oldest & 1:
            s.hist_uids.pop(0)

    def _warm(self, t: int, x: int, uid: str | None) -> None:
        s, p = self.s, self.params
        s.p0, s.weight = _blend(s.p0, s.weight, 1, float(x), p.memory)
        s.calm_n += 1
        s.calm_a += x
        if x and s.warm_first_t is None:
            s.warm_first_t, s.warm_first_uid = t, uid

    def _while_ok(self, t: int, x: int, uid: str | None, confirmed: bool) -> None:
        s, p = self.s, self.params
        up, down = self._rates()
        step = up if x else down
        if s.stat <= 0.0 and not x:
            # Calm: the statistic stays at zero; the measurement teaches the baseline at once.
            s.p0, s.weight = _blend(s.p0, s.weight, 1, 0.0, p.memory)
            s.calm_n += 1
            s.calm_since_warmup = True
            return
        if s.stat <= 0.0:
            s.run_n = s.run_a = s.run_confirmed = 0
            s.run_sum = 0.0
            s.run_t, s.run_uid, s.run_prev_t = t, uid, s.prev_t
        s.stat = min(s.stat + step, p.h_on + p.clip)
        s.run_n += 1
        s.run_a += x
        s.run_confirmed += confirmed
        s.run_sum += step
        if s.stat <= 0.0:
            # The run died out: it was noise, and belongs to the baseline after all.
            s.stat = 0.0
            s.p0, s.weight = _blend(s.p0, s.weight, s.run_n, s.run_a / s.run_n, p.memory)
            s.calm_n += s.run_n
            s.calm_a += s.run_a
            s.calm_since_warmup = True
            s.run_n = s.run_a = 0
            return
        assert s.run_t is not None
        if s.stat >= p.h_on and s.last_anom_t is not None and s.last_anom_t - s.run_t >= p.min_span_on_h * HOUR_US:
            self._open(t)

    def _open(self, t: int) -> None:
        s, p = self.s, self.params
        s.blocked = True
        assert s.run_t is not None
        s.ev_start, s.ev_start_uid = _between(s.run_prev_t, s.run_t, p.gap_h), s.run_uid
        s.ev_observed = True
        if not s.calm_since_warmup and s.warm_first_t is not None and s.calm_a * 2 >= s.calm_n:
            # Blocked from the outset: the data show no onset, only that it came before them.
            s.ev_start, s.ev_start_uid, s.ev_observed = s.warm_first_t, s.warm_first_uid, False
        s.ev_before_n, s.ev_before_a = s.calm_n, s.calm_a
        s.ev_n, s.ev_a = s.run_n, s.run_a
        if s.ev_observed:
            self._place_onset()
        if not s.ev_observed:
            s.ev_before_n = s.ev_before_a = 0
        s.ev_confirmed = s.run_confirmed
        s.ev_llr = s.ev_llr_max = s.run_sum
        s.ev_detected = t
        s.stat = 0.0
        s.off_t = None
        s.calm_n = s.calm_a = s.run_n = s.run_a = 0

    def _place_onset(self) -> None:
        """Moves the onset from the CUSUM's change point to the likelihood estimate over the
        recent measurements (onset.py), and the measurements between the two to the other side."""
        s, p = self.s, self.params
        times = [entry >> 1 for entry in s.hist]
        flags = [bool(entry & 1) for entry in s.hist]
        p0 = min(max(s.p0, p.p0_min), p.p0_max)
        start = onset.estimate(times, flags, s.hist_before, p0, p.p1, int(p.onset_window_h * HOUR_US),
                               int(p.gap_h * HOUR_US))
        if start is None:
            return
        first = next((i for i, t in enumerate(times) if t >= start), len(times) - 1)
        run_first = max(len(times) - s.run_n, 0)
        moved = s.hist[min(first, run_first):max(first, run_first)]
        shift_n, shift_a = len(moved), sum(entry & 1 for entry in moved)
        if first > run_first:
            shift_n, shift_a = -shift_n, -shift_a
        s.ev_n += shift_n
        s.ev_a += shift_a
        s.ev_before_n = max(s.ev_before_n - shift_n, 0)
        s.ev_before_a = max(s.ev_before_a - shift_a, 0)
        anomalies_before = sum(flags[:first])
        uid = s.hist_uids[anomalies_before] if anomalies_before < len(s.hist_uids) else s.run_uid
        s.ev_start, s.ev_start_uid = start, uid

    def _while_blocked(self, t: int, x: int, uid: str | None, confirmed: bool) -> None:
        s, p = self.s, self.params
        up, down = self._rates()
        s.ev_llr += up if x else down
        s.ev_llr_max = max(s.ev_llr_max, s.ev_llr)
        s.ev_n += 1
        s.ev_a += x
        s.ev_confirmed += confirmed
        if s.stat <= 0.0 and x:
            return
        if s.stat <= 0.0:
            s.off_t = t
            s.off_n = s.off_a = s.off_confirmed = 0
            s.off_last_t, s.off_last_uid = self._last_before(t)
        s.stat = min(s.stat - (up if x else down), p.h_off + p.clip)
        s.off_n += 1
        s.off_a += x
        s.off_confirmed += confirmed
        if s.stat <= 0.0:
            s.stat = 0.0
            return
        assert s.off_t is not None
        if s.stat >= p.h_off and t - s.off_t >= p.min_span_off_h * HOUR_US:
            self._close()

    def _last_before(self, t: int) -> tuple[int | None, str | None]:
        s = self.s
        if s.last_anom_t is not None and s.last_anom_t < t:
            return s.last_anom_t, s.last_anom_uid
        return s.ev_start, s.ev_start_uid

    def _close(self) -> None:
        s, p = self.s, self.params
        assert s.off_t is not None
        event = self.current(end=_between(s.off_last_t, s.off_t, p.gap_h))
        # What came from the first ok measurement of the run on is after the end.
        event.measurements -= s.off_n
        event.anomalous -= s.off_a
        event.confirmed -= s.off_confirmed
        event.last_uid = s.off_last_uid
        self.closed.append(event)
        s.blocked = False
        s.stat = 0.0
        s.p0, s.weight = _blend(s.p0, s.weight, s.off_n, s.off_a / max(s.off_n, 1), p.memory)
        s.calm_n, s.calm_a = s.off_n, s.off_a
        s.calm_since_warmup = True
        # The next onset lies after this end: what came before it is no evidence for that.
        while s.hist and s.hist[0] >> 1 < s.off_t:
            self._forget_oldest()
        s.ev_start = s.ev_detected = s.off_t = None

    def current(self, end: int | None = None) -> Event:
        s, p = self.s, self.params
        assert s.ev_start is not None and s.ev_detected is not None
        target, cc, asn, layer = self.key
        confidence = _sigmoid(s.ev_llr_max - p.h_on)
        if s.ev_confirmed:
            confidence = max(confidence, 0.95)  # a blockpage or a known DNS answer was matched
        return Event(
            target=target, probe_cc=cc, probe_asn=asn, blocking=layer, start=s.ev_start, end=end,
            start_observed=s.ev_observed, confidence=round(confidence, 4),
            before_measurements=s.ev_before_n, before_anomalous=s.ev_before_a,
            measurements=s.ev_n, anomalous=s.ev_a, confirmed=s.ev_confirmed,
            first_uid=s.ev_start_uid, last_uid=s.last_anom_uid, detected=s.ev_detected,
            networks=[asn],
        )

    def ongoing(self) -> Event | None:
        return self.current() if self.s.blocked else None
