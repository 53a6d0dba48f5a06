"""Vanilla Tor (ooni/spec nettests/ts-016-vanilla-tor.md): tor bootstraps with its default
configuration. "Bootstrapped 100%" in the logs or tor_progress 100 is ok; anything short of
that is an anomaly (ooni/backend fastpath score_vanilla_tor scores 1 - 0.4% per progress
point, above 0.5 for every incomplete bootstrap). The stall point names the layer: below 10%
tor never connected to a relay (tcp_ip), below 20% the relay handshake failed (tls)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from censorwatch.analysis.apps_common import claim, is_local, present, test_keys
from censorwatch.analysis.shapes import text
from censorwatch.model.verdict import ANOMALY, FAILURE, OK, TCP_IP, TLS, Verdict

DONE_MARKERS = ("Bootstrapped 100%",)


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
    logs = tk.get("tor_logs", tk.get("tor_log"))
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
    """Shared with torsf: judge a tor bootstrap record."""
    logs = logs_of(tk)
    progress = progress_of(tk)
    failure = text(tk.get("failure"))
    if logs is not None and any(marker in logs for marker in DONE_MARKERS):
        return Verdict(OK, None, f"{what} bootstrapped to 100%", ooni_blocking=claimed)
    if progress == 100:
        return Verdict(OK, None, f"{what} bootstrapped to 100%", ooni_blocking=claimed)
    if logs is None and progress is None:
        return Verdict(FAILURE, None, f"{what}: no bootstrap logs or progress recorded", ooni_blocking=claimed)
    if is_local(failure) or (tk.get("error") == "unknown-error" and not progress):
        return Verdict(FAILURE, None, f"{what} did not start ({failure or 'unknown-error'})", ooni_blocking=claimed)
    at = progress or 0.0
    tag = text(tk.get("tor_progress_tag"))
    return Verdict(ANOMALY, stall_layer(at), f"{what} bootstrap stalled at {at:g}%" + (f" ({tag})" if tag else ""),
                   ooni_blocking=claimed)


def analyse(measurement: Mapping[str, Any]) -> Verdict:
    tk = test_keys(measurement)
    return bootstrap_verdict(tk, "tor", ooni_claim(tk))
