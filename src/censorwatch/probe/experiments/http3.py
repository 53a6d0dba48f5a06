"""http3 (ours; OONI has no such test, its urlgetter with HTTP3Enabled comes closest): for one
https URL, an HTTP/1.1 GET over TCP+TLS and, beside it, a QUIC handshake and an HTTP/3 GET to
the same addresses, so "QUIC blocked, TCP fine" is a verdict (analysis/http3.py).

test_keys follow urlgetter (ts-027) and measurexlite: `queries`, `tcp_connect`,
`tls_handshakes`, `quic_handshakes` (df-006 with network "udp"), `requests` (both transports,
`network`/`alpn`/`request.x_transport` telling them apart, newest first), plus the summary
keys the analysis reads: `tcp_tls_failure`/`tcp_tls_failed_operation`,
`http3_failure`/`http3_failed_operation`, and `x_alt_svc_h3` (did the TCP response advertise
HTTP/3; None when there was no response).

The section (data/probe-endpoints.yaml, docs/probe-endpoints.md):

    urls: [https://...]      measured when the user gives no URL
    alpn: [h3]               the ALPN offered in the QUIC handshake
    udp_port: null           the UDP port to try; null: the URL's port (443 by default)
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from censorwatch.analysis.apps_common import LOCAL_FAILURES
from censorwatch.model import failures
from censorwatch.probe.dns_lookup import lookup
from censorwatch.probe.endpoints import measure_endpoint
from censorwatch.probe.endpoints_file import EndpointsError
from censorwatch.probe.experiment import ExperimentContext, finish, new_measurement
from censorwatch.probe.experiments._quic import QuicResult, http3_get
from censorwatch.probe.http_fetch import fetch

TEST_NAME = "http3"
TEST_VERSION = "0.1.0"
TAKES_URLS = True
DEFAULT_ALPN = ("h3",)

# An Alt-Svc entry offering HTTP/3 (RFC 9114 §3.1.1): h3="..." or a draft version h3-NN="...".
_ALT_SVC_H3 = re.compile(r'(?:^|[\s,])h3(?:-\d+)?\s*=\s*"', re.IGNORECASE)


def _urls(section: Mapping[str, Any]) -> list[str]:
    urls = section.get("urls", [])
    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        raise EndpointsError("http3: `urls` must be a list of https URLs")
    for url in urls:
        _check_url(url, "urls")
    return list(urls)


def _check_url(url: str, key: str) -> None:
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise EndpointsError(f"http3: {key}: {url!r} is not an https URL (HTTP/3 is https only)")


def _alpn(section: Mapping[str, Any]) -> list[str]:
    alpn = section.get("alpn", list(DEFAULT_ALPN))
    if not isinstance(alpn, list) or not alpn or not all(isinstance(a, str) and a for a in alpn):
        raise EndpointsError("http3: `alpn` must be a non-empty list of protocol names, e.g. [h3]")
    return list(alpn)


def _udp_port(section: Mapping[str, Any]) -> int | None:
    port = section.get("udp_port")
    if port is None:
        return None
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise EndpointsError("http3: `udp_port` must be a port number or null")
    return port


def inputs(section: Mapping[str, Any]) -> list[str | None]:
    """The section's URLs: what http3 measures when the user gives none."""
    _alpn(section)
    _udp_port(section)
    return list(_urls(section))


def alt_svc_offers_h3(request: Mapping[str, Any]) -> bool:
    response = request.get("response") or {}
    values = [v for k, v in response.get("headers_list") or [] if str(k).lower() == "alt-svc"]
    return any(_ALT_SVC_H3.search(str(v)) for v in values)


async def measure(input: str | None, context: ExperimentContext) -> dict[str, Any]:
    if input is None:
        raise ValueError("http3 measures a URL")
    _check_url(input, "input")
    section, config = context.section, context.config
    alpn, udp_port = _alpn(section), _udp_port(section)
    started = datetime.now(UTC)
    t0 = time.monotonic()
    measurement = new_measurement(TEST_NAME, TEST_VERSION, input, context, started)
    parts = urlsplit(input)
    host = parts.hostname or ""
    port = parts.port or 443
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    found = await lookup(host, config, t0)
    test_keys: dict[str, Any] = {
        "agent": "agent", "queries": found.queries, "tcp_connect": [], "tls_handshakes": [], "quic_handshakes": [],
        "requests": [], "tcp_tls_failure": None, "tcp_tls_failed_operation": None, "http3_failure": None,
        "http3_failed_operation": None, "x_alt_svc_h3": None, "x_quic_port": udp_port or port,
    }
    if not found.addrs:
        failure = found.failure or failures.DNS_NO_ANSWER
        test_keys.update(tcp_tls_failure=failure, tcp_tls_failed_operation="resolve",
                         http3_failure=failure, http3_failed_operation="resolve")
        return finish(measurement, test_keys, t0)

    await _tcp_path(input, host, port, found.addrs, context, t0, test_keys)
    quic = await _quic_path(input, host, parts.netloc, path, udp_port or port, found.addrs, alpn, context, t0)
    test_keys["quic_handshakes"] = [result.handshake for result in quic]
    chosen = _telling(quic)
    if chosen.request is not None:
        test_keys["requests"].insert(0, chosen.request)
    test_keys.update(http3_failure=chosen.failure, http3_failed_operation=chosen.failed_operation)
    return finish(measurement, test_keys, t0)


def _telling(results: list[QuicResult]) -> QuicResult:
    """The attempt that speaks for the QUIC path: one that got past the handshake, else the first
    failure that is not our own network's (an IPv6 address a v4-only probe cannot reach must not
    hide a blocked IPv4 one)."""
    for result in results:
        if result.failed_operation != "quic_handshake":
            return result
    for result in results:
        if result.failure not in LOCAL_FAILURES and not str(result.failure).startswith("unknown_failure"):
            return result
    return results[0]


async def _tcp_path(url: str, host: str, port: int, addrs: list[str], context: ExperimentContext, t0: float,
                    test_keys: dict[str, Any]) -> None:
    """The usual way in: TCP connect and TLS to the addresses, then one HTTP/1.1 GET (no redirects:
    any response shows the path works)."""
    config = context.config
    for ip in addrs:
        tcp, tls = await measure_endpoint(ip, port, host, config, t0)
        test_keys["tcp_connect"].append(tcp)
        if tls is not None:
            test_keys["tls_handshakes"].append({"network": "tcp", "no_tls_verify": False, **tls})
        if tls is not None and tls["failure"] is None:
            break  # one working endpoint is enough to fetch over; the rest would only cost time

    async def no_redirects(name: str) -> list[str]:
        return []

    fetched = await fetch(url, addrs, no_redirects, replace(config, max_redirects=0), t0)
    answered = [r for r in fetched.requests if r.get("response")]
    for request in fetched.requests:
        request.update(network="tcp", alpn="http/1.1")
        request.setdefault("request", {})["x_transport"] = "tcp"
    test_keys["requests"] = fetched.requests
    if answered:
        test_keys["x_alt_svc_h3"] = alt_svc_offers_h3(answered[-1])
        return
    test_keys["tcp_tls_failure"] = fetched.failure or failures.EOF_ERROR
    if not any(entry["status"]["success"] for entry in test_keys["tcp_connect"]):
        operation = "connect"
    elif not any(entry["failure"] is None for entry in test_keys["tls_handshakes"]):
        operation = "tls_handshake"
    else:
        operation = "http_round_trip"
    test_keys["tcp_tls_failed_operation"] = operation


async def _quic_path(url: str, host: str, authority: str, path: str, port: int, addrs: list[str], alpn: list[str],
                     context: ExperimentContext, t0: float) -> list[QuicResult]:
    """QUIC to each address in turn until one handshake completes (urlgetter's order)."""
    results: list[QuicResult] = []
    for ip in addrs:
        result = await http3_get(ip, port, url, host, authority, path, context.config, alpn, t0)
        results.append(result)
        if result.failed_operation != "quic_handshake":
            break
    return results
