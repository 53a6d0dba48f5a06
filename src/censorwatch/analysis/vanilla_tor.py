"""Vanilla Tor (ooni/spec nettests/ts-016-vanilla-tor.md): tor bootstraps with its default
configuration. Judged as ooni/backend fastpath score_vanilla_tor does: no tor logs at all is a
broken measurement (failure); "Bootstrapped 100%" in the logs or tor_progress 100 is ok; anything
short of that is an anomaly (fastpath scores 1 - 0.4% per progress point, above 0.5 for every
incomplete bootstrap). The stall point names the layer: below 10% tor never connected to a relay
(tcp_ip), below 20% the relay handshake failed (tls).

One deliberate difference (DESIGN.md, Verdicts): when the probe's own network is down the
verdict is failure, where fastpath counts an anomaly."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from censorwatch.analysis.apps_common import LOCAL_FAILURES, claim, present, test_keys
from censorwatch.analysis.shapes import text
from censorwatch.model.verdict import ANOMALY, FAILURE, OK, TCP_IP, TLS, Verdict

DONE_MARKERS = ("Bootstrapped 100%",)


def probe_broken(failure: str | None) -> bool:
    """The probe itself failed (no network, interrupted, Android's empty resolver cache), not the
    tunnel. For tunnel tools (tor, torsf, psiphon, riseupvpn, openvpn) an `unknown_failure ...`
    is not such a failure: probe-cli prefixes every error it cannot classify that way, and the
    tunnel libraries' own errors are such errors ("unknown_failure: clientlib: tunnel
    establishment timeout" is psiphon failing to reach any server); fastpath scores them as
    anomalies (score_psiphon, score_torsf)."""
    return failure in LOCAL_FAILURES


def progress_of(tk: Mapping[str, Any]) -> float | None:
    value = tk.get("tor_progress")
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return min(100.0, max(0.0, float(value)))
    if isinstance(value, str):
        try:
            return min(100.0, max(0.0, float(value)))
        except ValueError:
            return None
    return None


def logs_of(tk: Mapping[str, Any]) -> str | None:
    """The tor logs as one text. As fastpath reads them (`tor_logs or tor_log`): an empty list
    falls back on the legacy string, and neither present means no logs."""
    logs = tk.get("tor_logs") or tk.get("tor_log")
    if isinstance(logs, list):
        return "\n".join(str(line) for line in logs)
    return logs if isinstance(logs, str) else None


def stall_layer(progress: float) -> str | None:
    if progress < 10:
        return TCP_IP
    if progress < 20:
        return TLS
    return None


def ooni_claim(tk: Mapping[str, Any]) -> str | None:
    keys = present(tk, "success", "tor_progress", "error")
    success = tk.get("success")
    return claim(keys, None if not isinstance(success, bool) else not success)


def bootstrap_verdict(tk: Mapping[str, Any], what: str, claimed: str | None) -> Verdict:
    logs = logs_of(tk)
    if logs is None:
        return Verdict(FAILURE, None, f"{what}: no tor logs recorded (ooni/backend fastpath: a broken measurement)",
                       ooni_blocking=claimed)
    progress = progress_of(tk)
    if any(marker in logs for marker in DONE_MARKERS) or progress == 100:
        return Verdict(OK, None, f"{what} bootstrapped to 100%", ooni_blocking=claimed)
    failure = text(tk.get("failure"))
    if probe_broken(failure):
        return Verdict(FAILURE, None, f"{what} did not run: the probe's own network failed ({failure})",
                       ooni_blocking=claimed)
    # fastpath reads a missing tor_progress as 0
    at = progress or 0.0
    tag = text(tk.get("tor_progress_tag"))
    return Verdict(ANOMALY, stall_layer(at), f"{what} bootstrap stalled at {at:g}%" + (f" ({tag})" if tag else ""),
                   ooni_blocking=claimed)


def analyse(measurement: Mapping[str, Any]) -> Verdict:
    tk = test_keys(measurement)
    return bootstrap_verdict(tk, "tor", ooni_claim(tk))
