"""Middlebox tests: HTTP Header Field Manipulation (ooni/spec ts-006) and HTTP Invalid Request
Line (ts-007). Any difference between what the probe sent and what the test helper echoed back
is tampering by something on the path: an anomaly of type http-diff. Following ooni/backend
fastpath: headers compare as (name, value) sets without "Connection: close"; the request-line
test compares each sent line with the echoed one and ignores the probe's own `tampering` flag
(ooni/probe#1278). No answer from the helper at all is a failure (we cannot tell)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from censorwatch.analysis.apps_common import claim, requests, test_keys
from censorwatch.analysis.body import body_text
from censorwatch.analysis.shapes import items, mapping, text
from censorwatch.model.verdict import ANOMALY, FAILURE, HTTP_DIFF, OK, Verdict

IGNORED_HEADER = ("Connection", "close")


def hhfm_claim(tk: Mapping[str, Any]) -> str | None:
    tampering = tk.get("tampering")
    if not isinstance(tampering, Mapping):
        return None
    flagged = [k for k, v in tampering.items() if v is True]
    return claim([("tampering", ",".join(flagged) or "none")], bool(flagged))


def _headers(value: object) -> set[tuple[str, str]]:
    if isinstance(value, Mapping):
        pairs = list(value.items())
    else:
        pairs = [tuple(p[:2]) for p in items(value) if isinstance(p, list) and len(p) >= 2]
    result: set[tuple[str, str]] = set()
    for name, raw in pairs:
        if isinstance(raw, list):
            raw = raw[0] if raw else ""
        result.add((str(name), str(raw)))
    result.discard(IGNORED_HEADER)
    return result


def header_manipulation(measurement: Mapping[str, Any]) -> Verdict:
    tk = test_keys(measurement)
    claimed = hhfm_claim(tk)
    done = requests(tk)
    if not done:
        return Verdict(FAILURE, None, "no request to the test helper was recorded", ooni_blocking=claimed)
    first = done[0]
    response = first.get("response")
    if not isinstance(response, Mapping):
        failure = text(first.get("failure")) or "no response"
        return Verdict(FAILURE, None, f"test helper not reached ({failure})", ooni_blocking=claimed)
    body = body_text(response.get("body"))
    if body is None:
        return Verdict(ANOMALY, HTTP_DIFF, "empty response: total tampering", ooni_blocking=claimed)
    try:
        echoed = json.loads(body)["headers_dict"]
    except (ValueError, KeyError, TypeError):
        return Verdict(ANOMALY, HTTP_DIFF, "the response is not the helper's JSON echo", ooni_blocking=claimed)
    request = mapping(first.get("request"))
    sent = _headers(request.get("headers") or request.get("headers_list"))
    received = _headers(echoed)
    if sent == received:
        return Verdict(OK, None, "request headers arrived unchanged", ooni_blocking=claimed)
    changed = sorted({name for name, _ in sent ^ received})
    return Verdict(ANOMALY, HTTP_DIFF, f"{len(changed)} request headers changed on the path: "
                   f"{', '.join(changed[:4])}", ooni_blocking=claimed)


def _line(value: object) -> str | None:
    if isinstance(value, bytes):  # legacy YAML reports carry !!binary
        return value.decode("utf-8", errors="replace")
    if isinstance(value, Mapping) and value.get("format") == "base64":
        try:
            return base64.b64decode(str(value.get("data", "")), validate=False).decode("utf-8", errors="replace")
        except (binascii.Error, ValueError):
            return None
    return value if isinstance(value, str) else body_text(value)


def request_line(measurement: Mapping[str, Any]) -> Verdict:
    tk = test_keys(measurement)
    tampering = tk.get("tampering")
    claimed = claim([("tampering", tampering)], tampering) if isinstance(tampering, bool) else None
    sent, received = items(tk.get("sent")), items(tk.get("received"))
    if not sent and not received:
        return Verdict(FAILURE, None, "nothing was sent to the echo helper", ooni_blocking=claimed)
    differing = sum(1 for s, r in zip(sent, received, strict=False) if _line(s) != _line(r))
    if differing:
        return Verdict(ANOMALY, HTTP_DIFF, f"{differing} of {min(len(sent), len(received))} request lines came "
                       "back changed", ooni_blocking=claimed)
    return Verdict(OK, None, "every invalid request line was echoed unchanged", ooni_blocking=claimed)


def analyse(measurement: Mapping[str, Any]) -> Verdict:
    if measurement.get("test_name") == "http_invalid_request_line":
        return request_line(measurement)
    return header_manipulation(measurement)
