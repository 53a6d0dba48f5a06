"""Telegram (ooni/spec nettests/ts-020-telegram.md).

Rules: the data centres (DCs) are blocked at TCP when every TCP connect to a DC address on
80/443 fails; at HTTP when TCP works but no POST to a DC got a response; Telegram Web is blocked
when the HTTPS GET to web.telegram.org failed (DNS/TCP/TLS/IO, the post-2022-12-07 rule). The
first layer that fails names the blocking type."""

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
from censorwatch.analysis.shapes import items, mapping, text
from censorwatch.model.verdict import ANOMALY, FAILURE, HTTP_FAILURE, OK, TCP_IP, Verdict

WEB_HOSTS = ("web.telegram.org",)


def web_endpoints(tk: Mapping[str, Any]) -> set[str]:
    """ip:port of Telegram Web's connections. probe-cli puts the web's TCP connects in the same
    tcp_connect list as the DCs'; the DCs speak plain HTTP, so an endpoint that had a TLS
    handshake for web.telegram.org is the web's."""
    return {text(h.get("address")) or "" for h in map(mapping, items(tk.get("tls_handshakes")))
            if any(host in (text(h.get("server_name")) or "") for host in WEB_HOSTS)}


def _endpoint(ip: str, port: int | None) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def ooni_claim(tk: Mapping[str, Any]) -> str | None:
    keys = present(tk, "telegram_tcp_blocking", "telegram_http_blocking", "telegram_web_status")
    if not keys:
        return None
    values = dict(keys)
    blocked = (
        values.get("telegram_tcp_blocking") is True
        or values.get("telegram_http_blocking") is True
        or values.get("telegram_web_status") == "blocked"
    )
    return claim(keys, blocked)


def analyse(measurement: Mapping[str, Any]) -> Verdict:
    tk = test_keys(measurement)
    claimed = ooni_claim(tk)
    tcp = tcp_results(tk)
    dc_requests: list[str | None] = []
    web_failure: tuple[str, str] | None = None
    web_seen = False
    for request in requests(tk):
        url = request_url(request) or ""
        failure = failure_of(request)
        if any(host in url for host in WEB_HOSTS):
            web_seen = web_seen or url.startswith("https://")
            if url.startswith("https://") and failure:
                web_failure = (failure, url)
            continue
        dc_requests.append(failure)
    web = web_endpoints(tk)
    dc_tcp = [row for row in tcp if _endpoint(row[0], row[1]) not in web]
    failures = [row[3] for row in dc_tcp if not row[2]] + [f for f in dc_requests if f]
    if not dc_tcp and not dc_requests and not web_seen:
        return Verdict(FAILURE, None, "no Telegram endpoint was measured", ooni_blocking=claimed)
    if failures and all(is_local(f) for f in failures) and len(failures) == len(dc_tcp) + len(dc_requests):
        return Verdict(FAILURE, None, f"the probe's network failed ({failures[0]})", ooni_blocking=claimed)
    if dc_tcp and not any(ok for _, _, ok, _ in dc_tcp):
        return Verdict(ANOMALY, TCP_IP, f"all {len(dc_tcp)} TCP connects to Telegram DCs failed",
                       ooni_blocking=claimed)
    if dc_requests and all(dc_requests):
        return Verdict(ANOMALY, HTTP_FAILURE, f"none of {len(dc_requests)} HTTP requests to Telegram DCs "
                       f"got a response ({dc_requests[0]})", ooni_blocking=claimed)
    if web_failure is not None:
        failure, _ = web_failure
        return Verdict(ANOMALY, blocking_of(failure), f"Telegram Web (https) failed: {failure}",
                       ooni_blocking=claimed)
    if not web_seen and tk.get("telegram_web_status") == "blocked":
        return Verdict(ANOMALY, None, "Telegram Web reported blocked (no request recorded)", ooni_blocking=claimed)
    return Verdict(OK, None, "Telegram DCs and Telegram Web reachable", ooni_blocking=claimed)
