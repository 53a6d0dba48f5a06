"""Tor (ooni/spec nettests/ts-023-tor.md): each target's failure is null (reached), a string
(failed) or false (not run). As in ooni/backend fastpath score_tor the blocking score is the
share of failed targets among those that ran; more than half failed is an anomaly. The layer
is the one most failed targets broke at (summary.connect -> tcp_ip, summary.handshake -> tls).
Early probes wrote targets as a list (tor_list.json): same rules."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from censorwatch.analysis.apps_common import blocking_of, claim, is_local, test_keys
from censorwatch.analysis.shapes import items, mapping, text
from censorwatch.model.verdict import ANOMALY, FAILURE, OK, TCP_IP, TLS, Verdict

PROTOCOLS = ("dir_port", "obfs4", "or_port_dirauth", "or_port")


def ooni_claim(tk: Mapping[str, Any]) -> str | None:
    keys: list[tuple[str, object]] = []
    for proto in PROTOCOLS:
        total, ok = tk.get(f"{proto}_total"), tk.get(f"{proto}_accessible")
        if isinstance(total, int) and total:
            keys.append((proto, f"{ok}/{total}"))
    return claim(keys, None)


def _targets(tk: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    raw = tk.get("targets")
    if isinstance(raw, Mapping):
        return [mapping(v) for v in raw.values()]
    return [mapping(v) for v in items(raw)]


def _layer(target: Mapping[str, Any], failure: str) -> str:
    summary = mapping(target.get("summary"))
    if text(mapping(summary.get("connect")).get("failure")):
        return TCP_IP
    if text(mapping(summary.get("handshake")).get("failure")):
        return TLS
    return blocking_of(failure, https=target.get("target_protocol") != "dir_port")


def target_failure(target: Mapping[str, Any]) -> object:
    """The target's failure; the early list layout has none, so derive it from its own
    observations (first failed connect, handshake or request; nothing observed = not run)."""
    if "failure" in target:
        return target.get("failure")
    observed = False
    for key in ("tcp_connect", "tls_handshakes", "requests"):
        for entry in map(mapping, items(target.get(key))):
            observed = True
            status = mapping(entry.get("status")) if key == "tcp_connect" else entry
            failure = text(status.get("failure"))
            if failure:
                return failure
    return None if observed else False


def analyse(measurement: Mapping[str, Any]) -> Verdict:
    tk = test_keys(measurement)
    claimed = ooni_claim(tk)
    targets = _targets(tk)
    failed: list[tuple[Mapping[str, Any], str]] = []
    reached = not_run = 0
    for target in targets:
        failure = target_failure(target)
        if failure is None:
            reached += 1
        elif isinstance(failure, str) and failure:
            failed.append((target, failure))
        else:
            not_run += 1
    ran = reached + len(failed)
    if ran == 0:
        return Verdict(FAILURE, None, "no Tor target was measured", ooni_blocking=claimed)
    if not reached and all(is_local(f) for _, f in failed):
        return Verdict(FAILURE, None, f"the probe's network failed ({failed[0][1]})", ooni_blocking=claimed)
    share = len(failed) / ran
    summary = f"{len(failed)} of {ran} Tor targets failed"
    if share > 0.5:
        layer = Counter(_layer(t, f) for t, f in failed).most_common(1)[0][0]
        return Verdict(ANOMALY, layer, summary, ooni_blocking=claimed)
    return Verdict(OK, None, summary if failed else f"all {ran} Tor targets reachable", ooni_blocking=claimed)
