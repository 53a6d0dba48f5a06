"""WhatsApp (ooni/spec nettests/ts-018-whatsapp.md), judged like ooni/backend fastpath
score_measurement_whatsapp: the endpoints (e1..e16.whatsapp.net on 443/5222) are blocked only
when every connect fails; the registration server and WhatsApp Web are blocked when their
HTTPS request fails at DNS/TCP/TLS/IO. The plain-HTTP redirect check is not used: its
"unexpected status code" is a known false positive (unsupported-browser page)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from censorwatch.analysis.apps_common import (
    blocking_of,
    claim,
    failure_of,
    is_local,
    present,
    request_url,
    requests,
    tcp_results,
    test_keys,
)
from censorwatch.model.verdict import ANOMALY, FAILURE, OK, TCP_IP, Verdict

REGISTRATION = "https://v.whatsapp.net/v2/register"
WEB = "https://web.whatsapp.com/"
STATUS_KEYS = ("whatsapp_endpoints_status", "registration_server_status", "whatsapp_web_status")


def ooni_claim(tk: Mapping[str, Any]) -> str | None:
    keys = present(tk, *STATUS_KEYS, "whatsapp_web_failure", "registration_server_failure")
    statuses = [tk.get(k) for k in STATUS_KEYS if k in tk]
    if not keys:
        return None
    return claim(keys, "blocked" in statuses if statuses else None)


def _from_claim(tk: Mapping[str, Any], claimed: str | None) -> Verdict:
    blocked = [k for k in STATUS_KEYS if tk.get(k) == "blocked"]
    if blocked:
        return Verdict(ANOMALY, None, f"{', '.join(blocked)} reported blocked (no raw data)", ooni_blocking=claimed)
    if any(tk.get(k) == "ok" for k in STATUS_KEYS):
        return Verdict(OK, None, "WhatsApp reported reachable (no raw data)", ooni_blocking=claimed)
    return Verdict(FAILURE, None, "no WhatsApp service was measured", ooni_blocking=claimed)


def analyse(measurement: Mapping[str, Any]) -> Verdict:
    tk = test_keys(measurement)
    claimed = ooni_claim(tk)
    tcp = tcp_results(tk)
    by_url = {request_url(r): r for r in reversed(requests(tk))}
    if not tcp and not by_url:
        return _from_claim(tk, claimed)
    if tcp and not any(ok for _, _, ok, _ in tcp):
        failures = [f for *_, f in tcp if f]
        if failures and all(is_local(f) for f in failures):
            return Verdict(FAILURE, None, f"the probe's network failed ({failures[0]})", ooni_blocking=claimed)
        return Verdict(ANOMALY, TCP_IP, f"all {len(tcp)} connects to WhatsApp endpoints failed",
                       ooni_blocking=claimed)
    for url, name in ((REGISTRATION, "registration server"), (WEB, "WhatsApp Web")):
        request = by_url.get(url)
        failure = failure_of(request) if request is not None else None
        if failure and not is_local(failure):
            return Verdict(ANOMALY, blocking_of(failure), f"{name} failed: {failure}", ooni_blocking=claimed)
    if REGISTRATION not in by_url or WEB not in by_url:
        missing = "registration server" if REGISTRATION not in by_url else "WhatsApp Web"
        if not tcp:
            return Verdict(FAILURE, None, f"{missing} was not measured", ooni_blocking=claimed)
    return Verdict(OK, None, "WhatsApp endpoints, registration server and web reachable", ooni_blocking=claimed)
