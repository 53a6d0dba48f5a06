"""Tor (ooni/spec nettests/ts-023-tor.md): each target's failure is null (reached), a string
(failed) or false (not run). As in ooni/backend fastpath score_tor the blocking score is the
share of failed targets among those that ran; more than half failed is an anomaly, whatever the
failure strings say (an obfs4 error probe-cli cannot classify is "unknown_failure ..." and still
a failed target). The layer is the one most failed targets broke at (summary.connect -> tcp_ip,
summary.handshake -> tls).

Broken measurements are failures, as fastpath scores them: no targets, targets as a list (the
layout of a miniooni development build of January 2020, tor_list.json), a target without
`failure` or `network_events`. And, a deliberate difference (DESIGN.md), every target failing
because the probe's own network is down."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from censorwatch.analysis.apps_common import blocking_of, claim, test_keys
from censorwatch.analysis.shapes import mapping, text
from censorwatch.analysis.vanilla_tor import probe_broken
from censorwatch.model.verdict import ANOMALY, FAILURE, OK, TCP_IP, TLS, Verdict

PROTOCOLS = ("dir_port", "obfs4", "or_port_dirauth", "or_port")


def ooni_claim(tk: Mapping[str, Any]) -> str | None:
    keys: list[tuple[str, object]] = []
    for proto in PROTOCOLS:
        total, ok = tk.get(f"{proto}_total"), tk.get(f"{proto}_accessible")
        if isinstance(total, int) and total:
            keys.append((proto, f"{ok}/{total}"))
    return claim(keys, None)


def _layer(target: Mapping[str, Any], failure: str) -> str:
    summary = mapping(target.get("summary"))
    if text(mapping(summary.get("connect")).get("failure")):
        return TCP_IP
    if text(mapping(summary.get("handshake")).get("failure")):
        return TLS
    return blocking_of(failure, https=target.get("target_protocol") != "dir_port")


def analyse(measurement: Mapping[str, Any]) -> Verdict:
    tk = test_keys(measurement)
    claimed = ooni_claim(tk)
    raw = tk.get("targets")
    if isinstance(raw, list):
        return Verdict(FAILURE, None, "Tor targets in the early list layout (a miniooni development build): "
                       "ooni/backend fastpath scores it as a broken measurement", ooni_blocking=claimed)
    targets = [mapping(value) for value in mapping(raw).values()]
    if any("failure" not in target or "network_events" not in target for target in targets):
        return Verdict(FAILURE, None, "a Tor target lacks its failure or network_events "
                       "(ooni/backend fastpath: a probe bug)", ooni_blocking=claimed)
    failed: list[tuple[Mapping[str, Any], str]] = []
    reached = not_run = 0
    for target in targets:
        failure = target.get("failure")
        if failure is None:
            reached += 1
        elif isinstance(failure, str) and failure:
            failed.append((target, failure))
        else:
            not_run += 1
    ran = reached + len(failed)
    if ran == 0:
        return Verdict(FAILURE, None, "no Tor target was measured", ooni_blocking=claimed)
    if not reached and all(probe_broken(f) for _, f in failed):
        return Verdict(FAILURE, None, f"the probe's network failed ({failed[0][1]})", ooni_blocking=claimed)
    share = len(failed) / ran
    summary = f"{len(failed)} of {ran} Tor targets failed"
    if share > 0.5:
        layer = Counter(_layer(t, f) for t, f in failed).most_common(1)[0][0]
        return Verdict(ANOMALY, layer, summary, ooni_blocking=claimed)
    return Verdict(OK, None, summary if failed else f"all {ran} Tor targets reachable", ooni_blocking=claimed)
