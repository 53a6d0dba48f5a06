"""Shared helpers for the app and circumvention analysers (telegram, signal, whatsapp, ...):
hostile-data accessors, OONI failure classification and the compact text of OONI's own claim.

Every accessor returns an empty/None value for malformed input, so analysers never raise."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from censorwatch.analysis.shapes import items, mapping, text
from censorwatch.model.verdict import DNS, HTTP_FAILURE, TCP_IP, TLS

# Failures that mean "this probe's own network or software broke", not interference
# (df-007-errors; android_dns_cache_no_data is the Android resolver having nothing cached).
LOCAL_FAILURES = frozenset({"network_unreachable", "android_dns_cache_no_data", "interrupted"})

_TCP_FAILURES = frozenset(
    {"connection_refused", "connection_refused_error", "host_unreachable", "generic_timeout_error",
     "connect_error", "tcp_timed_out_error"}
)
_OPERATION_BLOCKING = {
    "resolve": DNS,
    "dns_round_trip": DNS,
    "connect": TCP_IP,
    "tls_handshake": TLS,
    "quic_handshake": TLS,
    "http_round_trip": HTTP_FAILURE,
    "read": HTTP_FAILURE,
    "write": HTTP_FAILURE,
}


def test_keys(measurement: Mapping[str, Any]) -> Mapping[str, Any]:
    return mapping(measurement.get("test_keys"))


def is_local(failure: str | None) -> bool:
    return failure is not None and (failure in LOCAL_FAILURES or failure.startswith("unknown_failure"))


def blocking_of(failure: str, operation: str | None = None, https: bool = True) -> str:
    """The layer a failure points at. The failed operation wins when OONI recorded it
    (df-008-netevents operations); otherwise the failure string decides (df-007-errors):
    resets and EOFs on https are the classic SNI-filtering signature, hence TLS."""
    if operation:
        for prefix, kind in _OPERATION_BLOCKING.items():
            if operation.startswith(prefix):
                return kind
    if failure.startswith("dns_") or failure == "android_dns_cache_no_data":
        return DNS
    if failure.startswith("ssl_"):
        return TLS
    if failure in _TCP_FAILURES:
        return TCP_IP
    if failure in ("connection_reset", "eof_error") and https:
        return TLS
    return HTTP_FAILURE


def tcp_results(tk: Mapping[str, Any]) -> list[tuple[str, int | None, bool, str | None]]:
    """df-005-tcpconnect rows as (ip, port, success, failure); a single dict (openvpn) counts too."""
    raw = tk.get("tcp_connect")
    entries = [raw] if isinstance(raw, Mapping) else items(raw)
    rows: list[tuple[str, int | None, bool, str | None]] = []
    for entry in map(mapping, entries):
        ip = text(entry.get("ip"))
        if ip is None:
            continue
        status = mapping(entry.get("status"))
        port = entry.get("port")
        rows.append((ip, port if isinstance(port, int) and not isinstance(port, bool) else None,
                     status.get("success") is True, text(status.get("failure"))))
    return rows


def request_url(request: Mapping[str, Any]) -> str | None:
    """The URL of a df-001-httpt transaction; some early probes left it out and only the Host
    header says where the request went (telegram_nourl.json)."""
    inner = mapping(request.get("request"))
    url = text(inner.get("url"))
    if url:
        return url
    host = text(mapping(inner.get("headers")).get("Host"))
    return f"http://{host}/" if host else None


def requests(tk: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [mapping(r) for r in items(tk.get("requests")) if isinstance(r, Mapping)]


def failure_of(entry: Mapping[str, Any]) -> str | None:
    return text(entry.get("failure"))


def claim(keys: Iterable[tuple[str, object]], blocked: bool | None) -> str | None:
    """OONI's own claim compressed into one line: "blocked: k=v, ..." / "ok: k=v, ..." / "k=v, ..."
    (no judgement). None when the measurement carries none of the keys."""
    parts = [f"{name}={_fmt(value)}" for name, value in keys]
    if not parts:
        return None
    body = ", ".join(parts)
    if blocked is None:
        return body
    return f"{'blocked' if blocked else 'ok'}: {body}"


def present(tk: Mapping[str, Any], *names: str) -> list[tuple[str, object]]:
    """(name, value) for the keys present in test_keys, in the given order."""
    return [(name, tk[name]) for name in names if name in tk]


def _fmt(value: object) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, list):
        return "[" + ",".join(_fmt(v) for v in value[:5]) + ("...]" if len(value) > 5 else "]")
    return str(value)[:60]
