"""What a Web Connectivity measurement saw, next to what the control saw, in flat rows for the
measurement page (ooni/spec nettests/ts-017-web-connectivity.md; data formats df-001 requests,
df-002 queries, df-005 tcp_connect, df-006 tls_handshakes). Measurements are hostile input:
every field may be missing or of the wrong type, and nothing here may raise."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any

BODY_SHOWN = 64 * 1024
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def _map(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: object) -> str | None:
    """Strings as they are; OONI's {"format": "base64", "data": ...} for non-UTF-8 bytes decoded
    leniently (df-001 "body" may be either)."""
    if isinstance(value, str):
        return value
    data = _map(value)
    if data.get("format") == "base64" and isinstance(data.get("data"), str):
        try:
            return base64.b64decode(data["data"], validate=False).decode("utf-8", errors="replace")
        except (binascii.Error, ValueError):
            return None
    return None


def title_of(body: str | None) -> str | None:
    if not body:
        return None
    found = _TITLE.search(body[:BODY_SHOWN])
    return " ".join(found.group(1).split())[:200] if found else None


def _headers(value: object) -> list[tuple[str, str]]:
    if isinstance(value, Mapping):
        return [(str(name), _text(item) or str(item)) for name, item in value.items()]
    return []


def _answers(query: Mapping[str, Any]) -> list[str]:
    out = []
    for answer in _list(query.get("answers")):
        answer = _map(answer)
        for key in ("ipv4", "ipv6", "hostname"):
            if isinstance(answer.get(key), str):
                out.append(answer[key])
                break
    return out


def dns_rows(test_keys: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for query in _list(test_keys.get("queries")):
        query = _map(query)
        rows.append(
            {
                "hostname": query.get("hostname"),
                "query_type": query.get("query_type"),
                "resolver": query.get("resolver_address") or query.get("engine"),
                "answers": _answers(query),
                "failure": query.get("failure"),
            }
        )
    return rows


def _status(value: object) -> str:
    if value is None:
        return "success"
    return str(value)


def tcp_rows(test_keys: Mapping[str, Any]) -> list[dict[str, Any]]:
    control = _map(_map(test_keys.get("control")).get("tcp_connect"))
    rows = []
    for item in _list(test_keys.get("tcp_connect")):
        item = _map(item)
        endpoint = f"{item.get('ip')}:{item.get('port')}"
        status = _map(item.get("status"))
        theirs = _map(control.get(endpoint)) if endpoint in control else None
        rows.append(
            {
                "endpoint": endpoint,
                "probe": "success" if status.get("success") else _status(status.get("failure") or "failed"),
                "control": None if theirs is None else ("success" if theirs.get("status") else
                                                        _status(theirs.get("failure") or "failed")),
            }
        )
    return rows


def tls_rows(test_keys: Mapping[str, Any]) -> list[dict[str, Any]]:
    control = _map(_map(test_keys.get("control")).get("tls_handshake"))
    rows = []
    for item in _list(test_keys.get("tls_handshakes")):
        item = _map(item)
        endpoint = str(item.get("address"))
        theirs = _map(control.get(endpoint)) if endpoint in control else None
        rows.append(
            {
                "endpoint": endpoint,
                "server_name": item.get("server_name"),
                "probe": _status(item.get("failure")),
                "control": None if theirs is None else ("success" if theirs.get("status") else
                                                        _status(theirs.get("failure") or "failed")),
            }
        )
    return rows


def http_requests(test_keys: Mapping[str, Any]) -> list[dict[str, Any]]:
    """df-001 lists the last request first; returned in the order they were made."""
    out = []
    for item in reversed(_list(test_keys.get("requests"))):
        item = _map(item)
        request = _map(item.get("request"))
        response = _map(item.get("response"))
        body = _text(response.get("body"))
        out.append(
            {
                "url": request.get("url"),
                "failure": item.get("failure"),
                "status": response.get("code"),
                "title": title_of(body),
                "body_length": len(body.encode("utf-8", errors="replace")) if body is not None else None,
                "headers": _headers(response.get("headers")),
                "body": body[:BODY_SHOWN] if body is not None else None,
                "body_truncated": body is not None and len(body) > BODY_SHOWN,
            }
        )
    return out


def evidence(measurement: Mapping[str, Any]) -> dict[str, Any]:
    """The page's side-by-side view; `kind` "web" for Web Connectivity, "generic" otherwise."""
    test_keys = _map(measurement.get("test_keys"))
    if measurement.get("test_name") != "web_connectivity":
        return {"kind": "generic"}
    control = _map(test_keys.get("control"))
    control_dns = _map(control.get("dns"))
    control_http = _map(control.get("http_request"))
    requests = http_requests(test_keys)
    final = requests[-1] if requests else None
    return {
        "kind": "web",
        "control_failure": test_keys.get("control_failure"),
        "dns": dns_rows(test_keys),
        "dns_failure": test_keys.get("dns_experiment_failure"),
        "control_dns": {
            "addrs": [str(a) for a in _list(control_dns.get("addrs"))],
            "failure": control_dns.get("failure"),
        },
        "tcp": tcp_rows(test_keys),
        "tls": tls_rows(test_keys),
        "requests": requests,
        "http": {
            "probe": final,
            "control": {
                "status": control_http.get("status_code"),
                "title": control_http.get("title"),
                "body_length": control_http.get("body_length"),
                "failure": control_http.get("failure"),
                "headers": _headers(control_http.get("headers")),
            }
            if control_http
            else None,
        },
        "ooni_keys": {
            key: test_keys.get(key)
            for key in ("dns_consistency", "body_length_match", "status_code_match", "headers_match", "title_match",
                        "blocking", "accessible")
            if key in test_keys
        },
    }
