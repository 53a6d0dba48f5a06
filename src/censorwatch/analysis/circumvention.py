"""Circumvention tools: torsf (ts-030), psiphon (ts-015), riseupvpn (ts-026), openvpn (ts-040).
A tool that could not be used from this network is an anomaly, as ooni/backend fastpath scores
it (score_torsf, score_psiphon: any failure; score_openvpn: success false), whatever the failure
string says: a tunnel that cannot be established (psiphon's "unknown_failure: clientlib: tunnel
establishment timeout") or a bootstrap that never finishes. A failure verdict only where the
measurement itself is broken as fastpath sees it (torsf from ooniprobe-android 3.8.3; psiphon
without resolver_ip, or with neither failure nor bootstrap time; openvpn without a result) or the
probe's own network failed (vanilla_tor.probe_broken; DESIGN.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from censorwatch.analysis.apps_common import (
    blocking_of,
    claim,
    failure_of,
    present,
    request_url,
    requests,
    tcp_results,
    test_keys,
)
from censorwatch.analysis.shapes import items, mapping, text
from censorwatch.analysis.vanilla_tor import probe_broken, progress_of, stall_layer
from censorwatch.model.verdict import ANOMALY, FAILURE, OK, TCP_IP, Verdict


def _failure_claim(tk: Mapping[str, Any], *extra: str) -> str | None:
    keys = present(tk, "failure", *extra)
    if not keys:
        return None
    failure = tk.get("failure")
    success = tk.get("success")
    blocked = bool(failure) or success is False
    return claim(keys, blocked)


def _broken(failure: str, tool: str, claimed: str | None) -> Verdict:
    return Verdict(FAILURE, None, f"{tool} did not run: the probe's own network failed ({failure})",
                   ooni_blocking=claimed)


def torsf(measurement: Mapping[str, Any]) -> Verdict:
    tk = test_keys(measurement)
    claimed = _failure_claim(tk, "success", "bootstrap_time")
    software = str(measurement.get("software_name") or "")
    if measurement.get("software_version") == "3.8.3" and software.startswith("ooniprobe-android"):
        return Verdict(FAILURE, None, "torsf from ooniprobe-android 3.8.3 is unreliable (ooni/backend fastpath)",
                       ooni_blocking=claimed)
    failure = text(tk.get("failure"))
    if failure is None:
        # fastpath calls this ok whatever else is there; without a bootstrap time there is no sign
        # of success either, so we do not (docs/verdicts-tests.md).
        if not tk.get("bootstrap_time"):
            return Verdict(FAILURE, None, "torsf reported neither failure nor bootstrap time", ooni_blocking=claimed)
        return Verdict(OK, None, "tor bootstrapped over Snowflake", ooni_blocking=claimed)
    if probe_broken(failure):
        return _broken(failure, "torsf", claimed)
    progress = progress_of(tk)
    stalled = f" (stalled at {progress:g}%)" if progress is not None else ""
    return Verdict(ANOMALY, stall_layer(progress) if progress is not None else None,
                   f"tor over Snowflake failed to bootstrap: {failure}{stalled}", ooni_blocking=claimed)


def psiphon(measurement: Mapping[str, Any]) -> Verdict:
    tk = test_keys(measurement)
    claimed = _failure_claim(tk, "bootstrap_time")
    if "resolver_ip" not in measurement:
        return Verdict(FAILURE, None, "psiphon measurement without resolver_ip: a known probe bug "
                       "(ooni/backend fastpath score_psiphon)", ooni_blocking=claimed)
    failure = text(tk.get("failure"))
    if failure is None:
        if not tk.get("bootstrap_time"):
            return Verdict(FAILURE, None, "psiphon reported neither failure nor bootstrap time",
                           ooni_blocking=claimed)
        return Verdict(OK, None, "psiphon bootstrapped and fetched through its tunnel", ooni_blocking=claimed)
    if probe_broken(failure):
        return _broken(failure, "psiphon", claimed)
    stage = "bootstrap" if not tk.get("bootstrap_time") else "use after bootstrap"
    return Verdict(ANOMALY, None, f"psiphon {stage} failed: {failure}", ooni_blocking=claimed)


def riseupvpn(measurement: Mapping[str, Any]) -> Verdict:
    tk = test_keys(measurement)
    transports = mapping(tk.get("transport_status"))
    blocked = (
        tk.get("api_status") == "blocked"
        or tk.get("ca_cert_status") is False
        or "blocked" in transports.values()
    )
    keys = present(tk, "api_status", "ca_cert_status", "api_failure")
    keys += [(f"transport_status.{k}", v) for k, v in transports.items()]
    claimed = claim(keys, blocked) if keys else None
    failed = [(request_url(r) or "?", f) for r in requests(tk) if (f := failure_of(r))]
    if failed and all(probe_broken(f) for _, f in failed):
        return _broken(failed[0][1], "riseupvpn", claimed)
    if failed:
        url, failure = failed[0]
        return Verdict(ANOMALY, blocking_of(failure), f"RiseupVPN API {url} failed: {failure}", ooni_blocking=claimed)
    dead = sorted(k for k, v in transports.items() if v == "blocked")
    if dead:
        return Verdict(ANOMALY, TCP_IP, f"no gateway reachable for transport {', '.join(dead)}", ooni_blocking=claimed)
    if tk.get("api_status") == "blocked" or tk.get("ca_cert_status") is False:
        api_failure = text(tk.get("api_failure"))
        return Verdict(ANOMALY, blocking_of(api_failure) if api_failure else None,
                       f"RiseupVPN API reported blocked ({api_failure})", ooni_blocking=claimed)
    if not requests(tk) and "api_status" not in tk:
        return Verdict(FAILURE, None, "no RiseupVPN service was measured", ooni_blocking=claimed)
    return Verdict(OK, None, "RiseupVPN API and gateways reachable", ooni_blocking=claimed)


def openvpn(measurement: Mapping[str, Any]) -> Verdict:
    tk = test_keys(measurement)
    claimed = _failure_claim(tk, "success")
    success = tk.get("success")
    failure = text(tk.get("failure"))
    # fastpath score_openvpn decides on `success` alone.
    if success is True:
        return Verdict(OK, None, "OpenVPN tunnel established", ooni_blocking=claimed)
    if success is not False:
        return Verdict(FAILURE, None, "openvpn reported no result", ooni_blocking=claimed)
    if probe_broken(failure):
        return _broken(failure or "", "openvpn", claimed)
    tcp = tcp_results(tk)
    if tcp and not any(ok for _, _, ok, _ in tcp):
        return Verdict(ANOMALY, TCP_IP, f"TCP connect to the OpenVPN endpoint failed: {tcp[0][3]}",
                       ooni_blocking=claimed)
    handshake = [f for e in items(tk.get("openvpn_handshake")) if (f := text(mapping(e).get("failure")))]
    reason = failure or (handshake[0] if handshake else "success=false")
    return Verdict(ANOMALY, blocking_of(reason, https=True) if failure else None,
                   f"OpenVPN tunnel failed: {reason}", ooni_blocking=claimed)


ANALYSERS = {"torsf": torsf, "psiphon": psiphon, "riseupvpn": riseupvpn, "openvpn": openvpn}


def analyse(measurement: Mapping[str, Any]) -> Verdict:
    analyser = ANALYSERS.get(str(measurement.get("test_name")))
    if analyser is None:
        return Verdict(None, None, "not analysed")
    return analyser(measurement)


__all__ = ["analyse", "stall_layer"]
