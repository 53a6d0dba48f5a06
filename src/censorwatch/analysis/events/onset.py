"""Where an onset lies, re-estimated when the CUSUM raises its alarm.

The CUSUM's own change point (where its statistic last left zero) is brittle on sparse series: a
stray anomaly a day or two before the onset starts the run early, and a partial block whose first
measurements happen to be ok starts it late. Both put the onset more than the ±24 h of OONI's hit
window away. At the alarm the detector therefore looks back over its recent measurements and
weighs every possible onset time tau by the likelihood of a two-segment Bernoulli (rate p0 before
tau, p1 from tau to the alarm), with a uniform prior over time: the onset is equally likely at any
moment, so a long pause between two measurements carries as much weight as its length.

Across a coverage gap the onset is confined to the gap's last `max_span` (24 h): with the span's
full length, a gap of days outweighs the evidence and the onset lands days early (measured on the
tuning seeds: recall 0.916 instead of 0.943).

The estimate is the time c whose window [c - W, c + W] holds the most posterior mass (W = 24 h,
the hit window: this maximises the chance of being within W of the true onset), moved to the
posterior median within that window (the smallest expected error given that)."""

from __future__ import annotations

import math
from bisect import bisect_left
from itertools import pairwise


def estimate(
    times: list[int], anomalous: list[bool], before: int | None, p0: float, p1: float, half_window: int,
    max_span: int, prior: tuple[int, int, float] | None = None,
) -> int | None:
    """The onset time from the measurements `times` (oldest first, the last one the alarm) and
    whether each was anomalous; `before` is the time of the measurement before the first one
    (None: unknown, and the first one cannot be the first after the onset). None if no span
    between two measurements is available."""
    up, down = math.log(p1 / p0), math.log((1.0 - p1) / (1.0 - p0))
    spans: list[tuple[int, int, float]] = []  # (lo, hi, log-likelihood of an onset in (lo, hi])
    suffix = 0.0
    for index in range(len(times) - 1, -1, -1):
        suffix += up if anomalous[index] else down
        lo = times[index - 1] if index else before
        if lo is not None and lo < times[index]:
            # Across a coverage gap nothing says when: the onset is placed in the gap's last
            # `max_span` (as the midpoint rule of detector._between does).
            spans.append((max(lo, times[index] - max_span), times[index], suffix))
    if not spans:
        return None
    spans.reverse()
    if prior is not None:
        spans = _weigh(spans, *prior)
    return from_spans(spans, half_window)


def from_spans(spans: list[tuple[int, int, float]], half_window: int) -> int | None:
    """The estimate from the spans (lo, hi, log-likelihood of an onset in (lo, hi]), oldest first."""
    if not spans:
        return None
    top = max(value for _, _, value in spans)
    # Spans a million times less likely than the best cannot move the estimate; dropping them
    # keeps the quadratic search below cheap (most of the history is calm).
    spans = [span for span in spans if span[2] - top > -14.0]
    # The posterior density is constant within each span.
    density = [math.exp(value - top) for _, _, value in spans]
    bounds = sorted({edge for lo, hi, _ in spans for edge in (lo, hi)})
    best_mass, best_centre = -1.0, spans[-1][1]
    for edge in bounds:
        for centre in (edge - half_window, edge + half_window):
            mass = _mass(spans, density, centre - half_window, centre + half_window)
            if mass > best_mass * (1 + 1e-9):
                best_mass, best_centre = mass, centre
    return _median(spans, density, best_centre - half_window, best_centre + half_window)


def _weigh(spans: list[tuple[int, int, float]], a: int, b: int, boost: float) -> list[tuple[int, int, float]]:
    """The spans with the log-prior `boost` added over [a, b] (split at its edges)."""
    out = []
    for lo, hi, value in spans:
        cuts = sorted({lo, hi, *(edge for edge in (a, b) if lo < edge < hi)})
        for x, y in pairwise(cuts):
            out.append((x, y, value + (boost if a <= x and y <= b else 0.0)))
    return out


def _mass(spans: list[tuple[int, int, float]], density: list[float], a: int, b: int) -> float:
    return sum(d * max(0, min(hi, b) - max(lo, a)) for (lo, hi, _), d in zip(spans, density, strict=True))


def _median(spans: list[tuple[int, int, float]], density: list[float], a: int, b: int) -> int:
    """The posterior median restricted to [a, b]."""
    pieces = [(max(lo, a), min(hi, b), d) for (lo, hi, _), d in zip(spans, density, strict=True)
              if min(hi, b) > max(lo, a)]
    half = sum((hi - lo) * d for lo, hi, d in pieces) / 2
    cumulative = [0.0]
    for lo, hi, d in pieces:
        cumulative.append(cumulative[-1] + (hi - lo) * d)
    index = min(max(bisect_left(cumulative, half) - 1, 0), len(pieces) - 1)
    lo, hi, d = pieces[index]
    return lo + min(hi - lo, int((half - cumulative[index]) / d)) if d > 0 else lo
