"""Verdicts for our `throttling` test (OONI has none): is a target far slower than a control
downloaded in the same run, in its body throughput or its TLS handshake time, and has the same
network seen it slow before? Rules and thresholds: docs/verdicts-tests.md, "throttling (ours)".

One run can say at most `anomaly`: a flow can be slow for a minute for reasons nobody chose.
`confirmed` needs the network's history, which the probe summarises into the measurement
(test_keys.history) because an analyser sees one measurement at a time."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from statistics import median
from typing import Any, Final

from censorwatch.analysis.apps_common import blocking_of
from censorwatch.analysis.shapes import integer, items, mapping, text
from censorwatch.model.verdict import ANOMALY, CONFIRMED, FAILURE, OK, THROTTLING, Verdict

# dd-007 (ooni/probe-cli docs/design): throttling worth reporting is "extreme", 10x or more below
# what is usual; Russia's 2021 Twitter throttling (~130-150 kbit/s against links of several
# Mbit/s) was far beyond it, ordinary congestion rarely is.
SLOW_FACTOR: Final = 10.0
# Medians of at least two samples per kind, and a two-thirds majority of the target's own
# samples on the slow side, so one slow (or one lucky) sample never decides.
MIN_SAMPLES: Final = 2
SLOW_MAJORITY: Final = 2 / 3
# A target at least this fast is not judged slow whatever the ratio: a page still works at it,
# and short downloads from fast servers differ by their round trips more than by any policy
# (on loopback, 64 KiB through a proxy and straight took 2-5 ms against 0.6 ms). Russia's 2021
# rate (~150 kbit/s) is far below it.
FAST_ENOUGH_KBPS: Final = 2000.0
# A body smaller than this that completed says little about throughput (slow start, RTT).
MIN_MEASURED_BYTES: Final = 16 * 1024
# TLS handshake throttling: YouTube in Russia, 2024, 1.3-5 s against 0.4-0.65 s. Twice the
# reference AND half a second more, so a far-away server's extra round trips do not count.
HANDSHAKE_FACTOR: Final = 2.0
HANDSHAKE_EXTRA_S: Final = 0.5
# confirmed: this run slow and at least two earlier runs (other reports) of the same target on
# the same network slow too, being at least half of the earlier comparable runs.
MIN_EARLIER_SLOW: Final = 2
MIN_SLOW_SHARE: Final = 0.5

SLOW, FINE, BLOCKED, BROKEN = "slow", "fine", "blocked", "broken"


@dataclass(frozen=True)
class Run:
    """The judgement of one run, before history: slow / fine / blocked (a failure at a layer) /
    broken (nothing to compare)."""

    state: str
    reason: str
    blocking: str | None = None


@dataclass(frozen=True)
class _Sample:
    kbit_per_s: float | None  # None: not usable for throughput
    handshake: float | None
    failure: str | None
    operation: str | None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _sample(entry: Mapping[str, Any]) -> _Sample:
    failure = text(entry.get("failure"))
    speed = _number(entry.get("kbit_per_s"))
    size = integer(entry.get("bytes")) or 0
    measurable = entry.get("time_capped") is True or size >= MIN_MEASURED_BYTES
    usable = failure is None and speed is not None and speed > 0 and measurable
    return _Sample(speed if usable else None, _number(entry.get("tls_handshake_time")), failure,
                   text(entry.get("failed_operation")))


def _samples(tk: Mapping[str, Any], kind: str) -> list[_Sample]:
    return [_sample(entry) for entry in map(mapping, items(tk.get("downloads"))) if entry.get("kind") == kind]


def _speeds(samples: list[_Sample]) -> list[float]:
    return [s.kbit_per_s for s in samples if s.kbit_per_s is not None]


def _handshakes(samples: list[_Sample]) -> list[float]:
    return [s.handshake for s in samples if s.handshake is not None]


def _fmt(kbps: float) -> str:
    return f"{kbps / 1000:.1f} Mbit/s" if kbps >= 1000 else f"{kbps:.0f} kbit/s"


def _resolve_failure(tk: Mapping[str, Any], kind: str) -> str | None:
    return text(mapping(mapping(tk.get("resolve")).get(kind)).get("failure"))


def _failed_layer(samples: list[_Sample], what: str) -> Run:
    failed = [(s.failure, s.operation) for s in samples if s.failure]
    (failure, operation), count = Counter(failed).most_common(1)[0]
    return Run(BLOCKED, f"{what} failed at {operation or 'an unknown step'} ({failure}) in {count} of "
                        f"{len(samples)} downloads while the control worked: blocked, not throttled",
               blocking_of(failure, operation))


def _slow_handshake(target: list[float], reference: list[float]) -> bool:
    if len(target) < MIN_SAMPLES or len(reference) < MIN_SAMPLES:
        return False
    ref = median(reference)
    limit = max(ref * HANDSHAKE_FACTOR, ref + HANDSHAKE_EXTRA_S)
    return median(target) >= limit and sum(t >= limit for t in target) >= SLOW_MAJORITY * len(target)


def judge_run(tk: Mapping[str, Any]) -> Run:
    """One run's judgement from its own downloads (no history)."""
    if text(tk.get("failure")):
        return Run(BROKEN, f"the measurement did not finish: {tk.get('failure')}")
    if _resolve_failure(tk, "control"):
        return Run(BROKEN, f"the control's name did not resolve ({_resolve_failure(tk, 'control')}): no comparison")
    control, target, decoy = (_samples(tk, kind) for kind in ("control", "target", "decoy"))
    control_speeds = _speeds(control)
    if len(control_speeds) < MIN_SAMPLES:
        return Run(BROKEN, f"only {len(control_speeds)} of {len(control)} control downloads usable: no comparison")
    target_dns = _resolve_failure(tk, "target")
    if target_dns:
        return Run(BLOCKED, f"the target's name did not resolve ({target_dns}) while the control's did",
                   blocking_of(target_dns, "resolve"))
    target_speeds = _speeds(target)
    if len(target_speeds) < MIN_SAMPLES:
        if any(s.failure for s in target):
            return _failed_layer(target, "the target's download")
        return Run(BROKEN, f"only {len(target_speeds)} of {len(target)} target downloads measurable "
                           f"(a body under {MIN_MEASURED_BYTES} bytes says nothing of speed)")
    reference = median(control_speeds)
    limit = min(reference / SLOW_FACTOR, FAST_ENOUGH_KBPS)
    speed = median(target_speeds)
    slow_samples = sum(s <= limit for s in target_speeds)
    slow_body = speed <= limit and slow_samples >= SLOW_MAJORITY * len(target_speeds)
    decoy_speeds = _speeds(decoy)
    decoy_hs = _handshakes(decoy)
    slow_hs = _slow_handshake(_handshakes(target),
                              decoy_hs if len(decoy_hs) >= MIN_SAMPLES else _handshakes(control))
    figures = f"target {_fmt(speed)} against control {_fmt(reference)} (median of {len(target_speeds)} and " \
              f"{len(control_speeds)})"
    if slow_body and len(decoy_speeds) >= MIN_SAMPLES and median(decoy_speeds) <= limit:
        return Run(FINE, f"{figures}, but as slow with a decoy server name ({_fmt(median(decoy_speeds))}): "
                         "the server or the path is slow for every name (throttling by address cannot be "
                         "told apart from one network)")
    if slow_body:
        cause = (f"; the same address with a decoy server name went at {_fmt(median(decoy_speeds))}: "
                 "triggered by the server name" if len(decoy_speeds) >= MIN_SAMPLES else "")
        return Run(SLOW, f"{figures}, {slow_samples} of {len(target_speeds)} samples at most a "
                         f"{SLOW_FACTOR:g}th of the control{cause}")
    if slow_hs:
        return Run(SLOW, f"TLS handshake {median(_handshakes(target)):.2f} s against "
                         f"{median(decoy_hs if len(decoy_hs) >= MIN_SAMPLES else _handshakes(control)):.2f} s "
                         f"({'decoy name, same address' if len(decoy_hs) >= MIN_SAMPLES else 'control'}); "
                         f"body throughput {figures}")
    return Run(FINE, f"not throttled: {figures}")


def history_summary(earlier: Iterable[Mapping[str, Any]], exclude_report: str | None = None) -> dict[str, Any]:
    """test_keys.history from earlier measurements of the same target on the same network,
    newest first: one run per report (the newest), counted only when it could be compared."""
    seen: set[str] = set()
    slow_times: list[str] = []
    comparable = 0
    for measurement in earlier:
        report = text(measurement.get("report_id")) or ""
        if (report and report in seen) or (exclude_report and report == exclude_report):
            continue
        seen.add(report)
        run = judge_run(mapping(measurement.get("test_keys")))
        if run.state not in (SLOW, FINE):
            continue
        comparable += 1
        if run.state == SLOW:
            slow_times.append(text(measurement.get("measurement_start_time")) or "")
    known = sorted(t for t in slow_times if t)
    return {
        "measurements": comparable,
        "slow": len(slow_times),
        "first_seen": known[0] if known else None,
        "last_seen": known[-1] if known else None,
    }


def _confirmed_by(history: Mapping[str, Any]) -> bool:
    measurements = integer(history.get("measurements")) or 0
    slow = integer(history.get("slow")) or 0
    return slow >= MIN_EARLIER_SLOW and slow >= MIN_SLOW_SHARE * measurements


def analyse(measurement: Mapping[str, Any]) -> Verdict:
    tk = mapping(measurement.get("test_keys"))
    run = judge_run(tk)
    if run.state == BROKEN:
        return Verdict(FAILURE, None, run.reason)
    if run.state == BLOCKED:
        return Verdict(ANOMALY, run.blocking, run.reason)
    if run.state == FINE:
        return Verdict(OK, None, run.reason)
    history = mapping(tk.get("history"))
    if _confirmed_by(history):
        return Verdict(CONFIRMED, THROTTLING,
                       f"{run.reason}; slow in {history.get('slow')} of {history.get('measurements')} earlier "
                       f"runs on this network since {history.get('first_seen')}")
    earlier = (f"{history.get('slow')} of {history.get('measurements')} earlier runs slow"
               if history else "no history of this network")
    return Verdict(ANOMALY, THROTTLING,
                   f"{run.reason}; one slow run is not proof ({earlier}; confirmed needs "
                   f"{MIN_EARLIER_SLOW} earlier slow runs)")
