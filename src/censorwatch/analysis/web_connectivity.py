"""Our verdict for web_connectivity measurements, every version (rules: docs/verdicts.md).

Order of judgement: usable control → probe's own network → DNS → TCP → TLS → HTTP. The first
layer that shows interference names the blocking type; a fingerprint match confirms it, and a page
that differs from the control's and reads like a blockpage is an anomaly even when its status and
header names match (blockpage_detector.py, R22)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from censorwatch.analysis import web_connectivity_keys as keys
from censorwatch.analysis.blockpage_detector import Detection, detect, redirected_to_blockpage_host
from censorwatch.analysis.fingerprints import Fingerprint, load_fingerprints
from censorwatch.analysis.observations import ControlView, HttpObservation, WebObservations, observe
from censorwatch.analysis.shapes import mapping, text
from censorwatch.model import failures
from censorwatch.model.verdict import (
    ANOMALY,
    CONFIRMED,
    DNS,
    FAILURE,
    HTTP_DIFF,
    HTTP_FAILURE,
    OK,
    TCP_IP,
    TLS,
    Verdict,
    ooni_blocking_text,
)

# Fingerprints are matched on the first 256 KiB: blockpages are small, and this bounds the cost.
FINGERPRINT_SCAN_BYTES = 256 * 1024
TLS_CERTIFICATE_FAILURES = frozenset(
    {failures.SSL_UNKNOWN_AUTHORITY, failures.SSL_INVALID_HOSTNAME, failures.SSL_INVALID_CERTIFICATE}
)


def analyse(measurement: Mapping[str, Any]) -> Verdict:
    test_keys = measurement["test_keys"]
    probe_cc = str(measurement.get("probe_cc") or "ZZ").upper()
    claimed = ooni_blocking_text(test_keys.get("blocking"))
    obs = observe(test_keys)
    verdict, blocking, reason, fingerprint = judge(obs, probe_cc, control_server(test_keys))
    return Verdict(verdict, blocking, reason, fingerprint=fingerprint, ooni_blocking=claimed)


def control_server(test_keys: Mapping[str, Any]) -> str | None:
    """The Server header the control saw (the flat ControlView keeps header names only)."""
    headers = mapping(mapping(mapping(test_keys.get("control")).get("http_request")).get("headers"))
    return next((text(value) for name, value in headers.items() if str(name).lower() == "server"), None)


Judgement = tuple[str, str | None, str, str | None]


def judge(obs: WebObservations, probe_cc: str, control_server: str | None = None) -> Judgement:
    control = obs.control
    if obs.control_failure or control is None or not (control.has_dns or control.has_http):
        why = f" ({obs.control_failure})" if obs.control_failure else ""
        return FAILURE, None, f"no usable control measurement{why}: cannot tell censorship from failure", None
    if _probe_network_down(obs):
        return FAILURE, None, "the probe's own network was unreachable", None
    return (
        _judge_dns(obs, control, probe_cc, control_server)
        or _judge_tcp(obs, control)
        or _judge_tls(obs, control)
        or _judge_http(obs, control, probe_cc, control_server)
    )


def _probe_network_down(obs: WebObservations) -> bool:
    seen = [f for f in (obs.dns_failure, *(row.failure for row in obs.tcp)) if f]
    return bool(seen) and all(f in failures.NETWORK_DOWN for f in seen) and not any(row.success for row in obs.tcp)


def _dns_fingerprint(obs: WebObservations, probe_cc: str) -> Fingerprint | None:
    table = load_fingerprints()
    for answer in obs.answers:
        found = table.match_dns(answer.answer, probe_cc)
        if found is not None and found.confirms(probe_cc):
            return found
    return None


def _http_fingerprint(response: HttpObservation | None, probe_cc: str) -> Fingerprint | None:
    if response is None:
        return None
    body = response.body[:FINGERPRINT_SCAN_BYTES] if response.body else None
    return load_fingerprints().match_http(body, response.headers, probe_cc)


def _blockpage(
    response: HttpObservation, control: ControlView, matches: bool, control_server: str | None
) -> Detection | None:
    """R22: the detector looks only at pages that differ from the control's, so its cost falls
    on few measurements and a page that is the control's (same title) is never called a
    blockpage for what it says about blocking."""
    if matches and not keys.page_differs(response, control):
        return None
    return detect(response.body, response.title, response.headers.get("server"), control_server)


def _judge_dns(
    obs: WebObservations, control: ControlView, probe_cc: str, control_server: str | None
) -> Judgement | None:
    if obs.dns_failure:
        if control.dns_failure:
            return OK, None, f"website down: DNS fails for the control too ({control.dns_failure})", None
        if obs.dns_failure == failures.DNS_NXDOMAIN:
            return ANOMALY, DNS, "the probe's resolver says the domain does not exist; the control resolves it", None
        return ANOMALY, DNS, f"DNS lookup failed ({obs.dns_failure}) while the control resolved the domain", None
    fingerprint = _dns_fingerprint(obs, probe_cc)
    if fingerprint is not None:
        return CONFIRMED, DNS, f"DNS answer is a known blocking address ({fingerprint.name})", fingerprint.name
    if keys.dns_consistency(obs) != "inconsistent":
        return None
    response = keys.final_response(obs)
    page = _http_fingerprint(response, probe_cc)
    if page is not None and page.confirms(probe_cc):
        return CONFIRMED, DNS, f"DNS answers lead to a known blockpage ({page.name})", page.name
    detection = None
    if response is not None and control.has_http:
        matches = keys.page_matches(response, control)
        detection = _blockpage(response, control, matches, control_server)
        if matches and detection is None:
            # Geo-DNS and CDNs answer differently per network; the page itself matching is what counts.
            return None
    looks = f"; the page looks like a blockpage: {detection.summary()}" if detection else ""
    bogons = keys.unexplained_bogons(obs, control)
    if bogons:
        listed = ", ".join(sorted(bogons)[:3])
        return ANOMALY, DNS, f"DNS answered with reserved addresses the control does not see ({listed}){looks}", None
    if detection:
        return ANOMALY, DNS, f"DNS answers share no address or network with the control's{looks}", None
    return ANOMALY, DNS, "DNS answers share no address or network with the control's and the page differs", None


def _judge_tcp(obs: WebObservations, control: ControlView) -> Judgement | None:
    if not keys.all_tcp_failed(obs):
        return None
    failure = next((row.failure for row in obs.tcp if row.failure), "connect failed")
    if not keys.control_tcp_ok(control):
        return OK, None, f"website down: the control cannot connect either ({failure})", None
    return ANOMALY, TCP_IP, f"every TCP connection failed ({failure}) while the control connected", None


def _judge_tls(obs: WebObservations, control: ControlView) -> Judgement | None:
    if not obs.tls or any(row.failure is None for row in obs.tls):
        return None
    failure = next((row.failure for row in obs.tls if row.failure), "handshake failed")
    control_ok = any(control.tls.values()) or (control.has_http and control.http_failure is None)
    if not control_ok:
        return OK, None, f"website down: TLS fails for the control too ({failure})", None
    if failure in TLS_CERTIFICATE_FAILURES:
        return ANOMALY, TLS, f"TLS certificate not valid for the site ({failure}): a sign of interception", None
    return ANOMALY, TLS, f"TLS handshake failed ({failure}) while the control completed it", None


def _judge_http(obs: WebObservations, control: ControlView, probe_cc: str, control_server: str | None) -> Judgement:
    response = keys.final_response(obs)
    if response is None:
        failure = obs.http_failure or next((r.failure for r in obs.http if r.failure), None)
        if failure is None:
            return FAILURE, None, "the measurement has no HTTP result to judge", None
        if control.http_failure:
            return OK, None, f"website down: the control's request failed too ({control.http_failure})", None
        return ANOMALY, HTTP_FAILURE, f"HTTP request failed ({failure}) while the control fetched the page", None
    fingerprint = _http_fingerprint(response, probe_cc)
    if fingerprint is not None and fingerprint.confirms(probe_cc):
        return CONFIRMED, HTTP_DIFF, f"the page is a known blockpage ({fingerprint.name})", fingerprint.name
    # R22: a redirect to a register or blockpage host decides before R21 and R17: the page there
    # may well come over valid HTTPS, but the redirect to it did not.
    host = redirected_to_blockpage_host([row.url for row in obs.http], [row.headers for row in obs.http])
    if host is not None:
        return ANOMALY, HTTP_DIFF, f"redirected to the blockpage host {host}", None
    if not control.has_http or control.http_failure:
        return OK, None, "the probe fetched the page (the control could not)", None
    if (response.url or "").startswith("https://"):
        return OK, None, "page fetched over verified HTTPS", None
    matches = keys.page_matches(response, control)
    detection = _blockpage(response, control, matches, control_server)
    titles = f"title {response.title[:60]!r} vs {control.title[:60]!r}"
    if detection is not None and matches:
        # What v0.4 accepted the page on (ts-017): header names, else the body length.
        key = "header names" if keys.headers_match(response, control) else "body length"
        reason = (
            f"status and {key} match the control's but the page differs ({titles}) and looks like a blockpage: "
            f"{detection.summary()}"
        )
        return ANOMALY, HTTP_DIFF, reason, None
    if matches:
        return OK, None, "page fetched and matches the control", None
    if detection is not None:
        detail = f"status {response.status_code} vs {control.status_code}, {titles}"
        reason = f"the page differs from the control's ({detail}) and looks like a blockpage: {detection.summary()}"
        return ANOMALY, HTTP_DIFF, reason, None
    if fingerprint is not None and fingerprint.is_false_positive_marker:
        return OK, None, f"the page differs but is a known non-censorship page ({fingerprint.name})", None
    detail = f"status {response.status_code} vs {control.status_code}, title {response.title[:60]!r}"
    return ANOMALY, HTTP_DIFF, f"the page differs from the control's ({detail})", None
