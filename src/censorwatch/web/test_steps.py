"""What a messenger, circumvention or network test saw, step by step, for the measurement page:
DNS lookups (df-002), TCP connects (df-005), TLS and QUIC handshakes (df-006), HTTP requests
(df-001), and each test's own keys (ooni/spec nettests ts-015..ts-040; http3 and throttling are
censorwatch's). Measurements are hostile input: every key may be missing or of any type, so
everything is read through the coercions below, nothing here raises, and only plain strings,
numbers and booleans come out (the templates escape them)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

MAX_TEXT = 2000  # one value shown on the page; a hostile 10 MB string must not become the page
MAX_ROWS = 200  # rows of one step table; the raw test keys below the steps hold the rest
MAX_LOG_LINES = 30


def _map(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> list[Any]:
    return value[:MAX_ROWS] if isinstance(value, list) else []


def _text(value: object) -> str | None:
    """A scalar as text; containers and absent values as None (they have their own tables)."""
    if value is None or isinstance(value, Mapping | list):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        try:
            text = str(value)
        except ValueError:  # an integer of more digits than Python will print
            return None
        return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"
    return None


def _number(value: object) -> float | None:
    """A finite number: Python's JSON reader accepts NaN and Infinity, which no table can show."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _failure(value: object) -> str | None:
    """OONI writes null for success; anything else is the failure (a string, or nonsense shown as text)."""
    if value is None:
        return None
    return _text(value) or "failed"


# --- the generic steps (df-002, df-005, df-006, df-001) ---------------------------------------

def dns_steps(queries: object) -> list[dict[str, Any]]:
    rows = []
    for query in _list(queries):
        query = _map(query)
        answers = []
        for answer in _list(query.get("answers")):
            answer = _map(answer)
            for key in ("ipv4", "ipv6", "hostname"):
                found = _text(answer.get(key))
                if found:
                    answers.append(found)
                    break
        rows.append({
            "hostname": _text(query.get("hostname")),
            "query_type": _text(query.get("query_type")),
            "resolver": _text(query.get("resolver_address")) or _text(query.get("engine")),
            "answers": answers,
            "failure": _failure(query.get("failure")),
        })
    return rows


def tcp_steps(connects: object) -> list[dict[str, Any]]:
    # openvpn writes one connect as an object, every other test a list of them.
    items = [connects] if isinstance(connects, Mapping) else _list(connects)
    rows = []
    for item in items:
        item = _map(item)
        status = _map(item.get("status"))
        failure = _failure(status.get("failure"))
        ok = status.get("success") is True and failure is None
        rows.append({
            "address": _address(item.get("ip"), item.get("port")),
            "ok": ok,
            "failure": failure if failure or ok else "failed",
        })
    return rows


def _address(ip: object, port: object) -> str:
    host, number = _text(ip) or "?", _text(port) or "?"
    return f"[{host}]:{number}" if ":" in host else f"{host}:{number}"


def handshake_steps(handshakes: object) -> list[dict[str, Any]]:
    """TLS handshakes, and QUIC ones (http3: `quic_handshakes` has the same shape)."""
    rows = []
    for item in _list(handshakes):
        item = _map(item)
        failure = _failure(item.get("failure"))
        rows.append({
            "address": _text(item.get("address")),
            "server_name": _text(item.get("server_name")),
            "version": _text(item.get("tls_version")),
            "alpn": _text(item.get("negotiated_protocol")),
            "ok": failure is None,
            "failure": failure,
        })
    return rows


def http_steps(requests: object) -> list[dict[str, Any]]:
    rows = []
    for item in _list(requests):
        item = _map(item)
        request = _map(item.get("request"))
        response = _map(item.get("response"))
        url = _text(request.get("url"))
        if not url:
            # Early telegram probes wrote no URL: the Host header says where the request went.
            host = _text(_map(request.get("headers")).get("Host"))
            url = f"http://{host}/" if host else None
        body = response.get("body")
        length = None
        if isinstance(body, str):
            length = len(body.encode("utf-8", errors="replace"))
        elif isinstance(_map(body).get("data"), str):
            length = len(_map(body)["data"]) * 3 // 4  # base64 (df-001): about three bytes a four
        status = response.get("code")
        failure = _failure(item.get("failure"))
        # http3 fetches the same URL over QUIC ("udp") and over TCP: the row says which.
        transport = _text(item.get("network")) or _text(request.get("x_transport"))
        rows.append({
            "method": _text(request.get("method")),
            "transport": transport,
            "url": url,
            "status": _text(status) if status not in (None, 0) else None,
            "ok": failure is None,
            "failure": failure,
            # A failed request has no body, whatever empty string the probe wrote for it.
            "body_length": length if failure is None else None,
        })
    return rows


def step_group(title: str, keys: Mapping[str, Any], failure: object = None) -> dict[str, Any]:
    return {
        "title": title,
        "failure": _failure(failure),
        "dns": dns_steps(keys.get("queries")),
        "tcp": tcp_steps(keys.get("tcp_connect")),
        "tls": handshake_steps(keys.get("tls_handshakes")),
        "quic": handshake_steps(keys.get("quic_handshakes")),
        "http": http_steps(keys.get("requests")),
    }


def _has_steps(group: Mapping[str, Any]) -> bool:
    return any(group[kind] for kind in ("dns", "tcp", "tls", "quic", "http"))


# --- test-specific keys -------------------------------------------------------------------------

# Key -> plain words; keys listed here come first, in this order. Other scalar keys follow as
# they are named, so a key we do not know yet (a new probe version) is still shown.
LABELS: dict[str, str] = {
    "telegram_tcp_blocking": "Telegram data centres blocked (TCP)",
    "telegram_http_blocking": "Telegram data centres blocked (HTTP)",
    "telegram_web_status": "Telegram Web",
    "telegram_web_failure": "Telegram Web failure",
    "signal_backend_status": "Signal servers",
    "signal_backend_failure": "Signal servers failure",
    "whatsapp_endpoints_status": "WhatsApp endpoints",
    "whatsapp_endpoints_blocked": "WhatsApp endpoints blocked",
    "whatsapp_endpoints_dns_inconsistent": "WhatsApp endpoints with inconsistent DNS",
    "registration_server_status": "WhatsApp registration server",
    "registration_server_failure": "WhatsApp registration server failure",
    "whatsapp_web_status": "WhatsApp Web",
    "whatsapp_web_failure": "WhatsApp Web failure",
    "facebook_tcp_blocking": "Facebook servers blocked (TCP)",
    "facebook_dns_blocking": "Facebook names blocked (DNS)",
    "success": "Succeeded",
    "failure": "Failure",
    "failed_operation": "Failed step",
    "error": "Error",
    "bootstrap_time": "Bootstrap time (s)",
    "timeout": "Timeout (s)",
    "transport_name": "Transport",
    "tor_version": "Tor version",
    "domain": "Name looked up",
    "bootstrap_failure": "Resolver's own name failed",
    "provider": "VPN provider",
    "vpn_protocol": "VPN protocol",
    "transport": "Transport",
    "remote": "VPN server",
    "obfuscation": "Obfuscation",
    "success_handshake": "VPN handshake completed",
    "success_icmp": "Pings through the tunnel",
    "success_urlgrab": "Fetch through the tunnel",
    "api_status": "RiseupVPN API",
    "api_failure": "RiseupVPN API failure",
    "ca_cert_status": "RiseupVPN CA certificate fetched",
    "failing_gateways": "RiseupVPN gateways not reached",
    "tcp_tls_failure": "TCP and TLS fetch failure",
    "http3_failure": "HTTP/3 fetch failure",
    "x_alt_svc_h3": "Server announces HTTP/3 (Alt-Svc)",
    "history": "Earlier runs on this network",
}
# Already shown elsewhere on the page, or noise for a reader (the probe's internals).
_HIDDEN = {"agent", "socksproxy", "client_resolver", "retries", "tor_logs", "tor_log", "tor_progress",
           "tor_progress_tag", "tor_progress_summary", "persistent_datadir", "minivpn_version", "obfs4_version",
           "last_handshake_transaction_id",
           # the steps: their tables show them, empty or not
           "queries", "tcp_connect", "tls_handshakes", "quic_handshakes", "requests", "network_events", "targets",
           "lookups", "bootstrap", "downloads"}


def facts(test_keys: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The test's own scalar keys (and short lists of scalars) as (label, value) rows."""
    ordered = [key for key in LABELS if key in test_keys]
    ordered += sorted(str(key) for key in test_keys if key not in LABELS)
    out = []
    for key in ordered:
        if key in _HIDDEN:
            continue
        value = test_keys.get(key)
        if isinstance(value, list):
            items = [_text(item) for item in value[:50]]
            if not all(item is not None for item in items):
                continue  # a list of objects: a step table shows it, or the raw keys do
            shown = ", ".join(str(item) for item in items) or "none"
        elif isinstance(value, Mapping):
            # A small object of plain values (throttling's `history`) reads well on one line.
            pairs = [(str(k), _text(v) if v is not None else "none") for k, v in list(value.items())[:12]]
            if not pairs or any(v is None for _, v in pairs) or len(value) > 12:
                continue
            shown = "; ".join(f"{k}: {v}" for k, v in pairs)
        else:
            scalar = _text(value) if value is not None else "none"
            if scalar is None:
                continue
            shown = scalar
        out.append((LABELS.get(key, key), shown))
        if len(out) >= 80:
            break
    return out


def bootstrap(test_keys: Mapping[str, Any]) -> dict[str, Any] | None:
    """vanilla_tor / torsf: how far tor got before it stopped (ts-016, ts-030)."""
    progress = _number(test_keys.get("tor_progress"))
    logs = test_keys.get("tor_logs")
    if isinstance(logs, list):
        lines = [line for line in (_text(item) for item in logs[-MAX_LOG_LINES:]) if line]
    elif isinstance(test_keys.get("tor_log"), str):
        # Old probes kept the log as one string.
        lines = [line for line in test_keys["tor_log"][-64 * 1024:].splitlines() if line][-MAX_LOG_LINES:]
    else:
        lines = []
    if progress is None and not lines:
        return None
    return {
        "progress": None if progress is None else max(0, min(100, int(progress))),
        "tag": _text(test_keys.get("tor_progress_tag")),
        "summary": _text(test_keys.get("tor_progress_summary")),
        "timeout": _text(test_keys.get("timeout")),
        "error": _text(test_keys.get("error")),
        "failure": _failure(test_keys.get("failure")),
        "logs": [line[:300] for line in lines],
    }


def tor_targets(test_keys: Mapping[str, Any]) -> list[dict[str, Any]]:
    """ts-023: one row per target (address, kind, failure, and the summary of its steps)."""
    targets = test_keys.get("targets")
    if isinstance(targets, Mapping):
        items = [(str(name), _map(value)) for name, value in list(targets.items())[:MAX_ROWS]]
    else:
        # A development build wrote a list (tor_list.json): its targets are read the same way.
        items = [(_text(_map(value).get("target_address")) or "?", _map(value)) for value in _list(targets)]
    rows = []
    for name, target in items:
        summary = _map(target.get("summary"))
        steps = [(str(step), _failure(_map(result).get("failure"))) for step, result in list(summary.items())[:10]]
        raw_failure = target.get("failure")
        rows.append({
            "name": _text(target.get("target_name")) or name,
            "address": _text(target.get("target_address")) or name,
            "protocol": _text(target.get("target_protocol")),
            "ran": raw_failure is not False,  # false: the target was not run at all (ts-023)
            "failure": None if raw_failure is False else _failure(raw_failure),
            "summary": [{"step": step, "ok": failure is None, "failure": failure} for step, failure in steps],
        })
    return rows


def handshake_events(test_keys: Mapping[str, Any]) -> list[dict[str, Any]]:
    """openvpn (ts-040): the handshake's progress, as network_events of named operations."""
    rows = []
    for event in _list(test_keys.get("network_events")):
        event = _map(event)
        operation = _text(event.get("operation"))
        if operation is None:
            continue
        rows.append({"operation": operation, "t": _number(event.get("t")),
                     "failure": _failure(event.get("failure"))})
    return rows


# Text columns worth keeping next to the numbers of a sample: which side it measured, and how it failed.
_SAMPLE_TEXT = ("kind", "failure", "failed_operation")


def throughput_samples(test_keys: Mapping[str, Any]) -> list[dict[str, Any]]:
    """throttling: every list of download samples (our probe writes `downloads`, one object per
    download of the target or the control: kind, bytes, kbit_per_s, tls_handshake_time, failure),
    as a table of its numbers and the few text columns above. Any list named like samples is
    read the same way, so a renamed key still shows."""
    tables = []
    for key, value in list(test_keys.items())[:200]:
        name = str(key)
        words = ("sample", "throughput", "speed", "download")
        if not isinstance(value, list) or not any(word in name for word in words):
            continue
        rows = [_map(item) for item in value[:MAX_ROWS] if isinstance(item, Mapping)]
        columns: list[str] = []
        for row in rows:
            for column, cell in row.items():
                wanted = _number(cell) is not None or (str(column) in _SAMPLE_TEXT and _text(cell) is not None)
                if wanted and str(column) not in columns and len(columns) < 10:
                    columns.append(str(column))
        if rows and columns:
            tables.append({"key": name, "columns": columns,
                           "rows": [[_cell(row.get(column)) for column in columns] for row in rows]})
    return tables


def _cell(value: object) -> float | str | None:
    number = _number(value)
    return number if number is not None else _text(value)


def failing_gateways(test_keys: Mapping[str, Any]) -> list[dict[str, Any]]:
    """riseupvpn (ts-026): the gateways it could not reach."""
    rows = []
    for item in _list(test_keys.get("failing_gateways")):
        item = _map(item)
        rows.append({"address": _address(item.get("ip"), item.get("port")),
                     "transport": _text(item.get("transport_type")),
                     "failure": _failure(item.get("failure")) or "failed"})
    return rows


# --- the page's view ----------------------------------------------------------------------------

def steps(measurement: Mapping[str, Any], test_name: str | None = None) -> dict[str, Any]:
    """The measurement page's step-by-step view of an app, circumvention or network test.
    `test_name` is the stored row's (the raw JSON's when not given)."""
    test_keys = _map(measurement.get("test_keys"))
    test_name = test_name or _text(measurement.get("test_name")) or ""
    groups = [step_group("What the probe did", test_keys, None)]
    if test_name == "dnscheck":
        # ts-028: the resolver's own name first ("bootstrap"), then one lookup per endpoint.
        groups = [step_group("Looking up the resolver's own name", _map(test_keys.get("bootstrap")),
                             test_keys.get("bootstrap_failure"))]
        lookups = test_keys.get("lookups")
        for endpoint, lookup in list(_map(lookups).items())[:MAX_ROWS]:
            lookup = _map(lookup)
            groups.append(step_group(f"Lookup through {str(endpoint)[:MAX_TEXT]}", lookup, lookup.get("failure")))
    targets = tor_targets(test_keys) if test_name == "tor" else []
    if test_name == "tor":
        groups = []
        for target, raw in zip(targets, _tor_target_keys(test_keys), strict=False):
            group = step_group(f"{target['protocol'] or 'target'} {target['address']}", raw, None)
            group["failure"] = target["failure"]
            groups.append(group)
    return {
        "kind": "app",
        "test_name": test_name,
        "facts": facts(test_keys),
        "groups": [group for group in groups if _has_steps(group) or group["failure"]],
        "tor_targets": targets,
        "bootstrap": bootstrap(test_keys),
        "handshake": handshake_events(test_keys) if test_name == "openvpn" else [],
        "gateways": failing_gateways(test_keys),
        "samples": throughput_samples(test_keys),
    }


def _tor_target_keys(test_keys: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    targets = test_keys.get("targets")
    if isinstance(targets, Mapping):
        return [_map(value) for value in list(targets.values())[:MAX_ROWS]]
    return [_map(value) for value in _list(targets)]

