"""OONI Web Connectivity v0.4 comparison keys and blocking/accessible (ooni/spec
nettests/ts-017-web-connectivity.md; OONI-NOTES.md "Web Connectivity verdict keys").

Our probe fills test_keys with these so any OONI tool reads our files as it reads its own; our
own verdict (web_connectivity.py) reuses the comparisons but adds rules of its own."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from censorwatch.analysis.bogons import is_bogon, is_ip
from censorwatch.analysis.observations import ControlView, HttpObservation, WebObservations, observe
from censorwatch.model import failures

# ts-017 / probe-cli: headers every server sends say nothing about which server answered.
COMMON_HEADERS = frozenset(
    {
        "date", "content-type", "server", "cache-control", "vary", "set-cookie", "location", "expires",
        "x-powered-by", "content-encoding", "last-modified", "accept-ranges", "pragma", "x-frame-options",
        "etag", "x-content-type-options", "age", "via", "p3p", "x-xss-protection", "content-language",
        "cf-ray", "strict-transport-security", "link", "x-varnish", "content-length", "connection",
        "transfer-encoding", "keep-alive", "alt-svc",
    }
)
BODY_PROPORTION_THRESHOLD = 0.7
_WORD = re.compile(r"\w+", re.UNICODE)


def final_response(obs: WebObservations) -> HttpObservation | None:
    """OONI lists requests newest first: the final response of the redirect chain is the first."""
    for row in obs.http:
        if row.failure is None and row.status_code is not None:
            return row
    return None


def successful_tls_ips(obs: WebObservations) -> set[str]:
    ips: set[str] = set()
    for row in obs.tls:
        if row.failure is None and row.address:
            ips.add(row.address.rsplit(":", 1)[0].strip("[]"))
    return ips


def probe_ips(obs: WebObservations) -> set[str]:
    return {a.answer for a in obs.answers if is_ip(a.answer)}


def unexplained_bogons(obs: WebObservations, control: ControlView) -> set[str]:
    return {ip for ip in probe_ips(obs) if is_bogon(ip) and ip not in control.addrs}


def dns_consistency(obs: WebObservations) -> str | None:
    control = obs.control
    if control is None or not control.has_dns:
        return None
    if obs.dns_failure == failures.DNS_NXDOMAIN and control.dns_failure == failures.DNS_NXDOMAIN:
        return "consistent"
    if obs.dns_failure or control.dns_failure:
        return "inconsistent" if obs.dns_failure != control.dns_failure else "consistent"
    ips = probe_ips(obs)
    if unexplained_bogons(obs, control):
        return "inconsistent"
    if ips & set(control.addrs):
        return "consistent"
    probe_asns = {a.asn for a in obs.answers if a.asn}
    if probe_asns & control.asns:
        return "consistent"
    # v0.5: a valid TLS handshake to an answer proves the address serves the real site.
    if ips & successful_tls_ips(obs):
        return "consistent"
    return "inconsistent"


def body_proportion(response: HttpObservation | None, control: ControlView | None) -> float | None:
    if response is None or control is None:
        return None
    a, b = response.body_length, control.body_length  # each read once: a property, worked out on use
    if not a or not b or a <= 0 or b <= 0:
        return None
    return min(a, b) / max(a, b)


def body_length_match(response: HttpObservation | None, control: ControlView | None) -> bool | None:
    proportion = body_proportion(response, control)
    if proportion is None or (response is not None and response.truncated):
        # A truncated body's length says nothing about the page's (probe-cli does the same).
        return None
    return proportion > BODY_PROPORTION_THRESHOLD


def headers_match(response: HttpObservation | None, control: ControlView | None) -> bool | None:
    if response is None or control is None or not control.has_http or control.status_code in (None, -1):
        return None
    ours = {name for name in response.headers if name not in COMMON_HEADERS}
    theirs = {name for name in control.header_names if name not in COMMON_HEADERS}
    if not ours and not theirs:
        return True
    return bool(ours & theirs)


def status_code_match(response: HttpObservation | None, control: ControlView | None) -> bool | None:
    if response is None or control is None or control.status_code in (None, -1):
        return None
    if response.status_code == control.status_code:
        return True
    if control.status_code is not None and control.status_code // 100 != 2:
        return None
    return False


def title_words(title: str) -> set[str]:
    return {word.lower() for word in _WORD.findall(title) if len(word) >= 5}


def title_match(response: HttpObservation | None, control: ControlView | None) -> bool | None:
    if response is None or control is None:
        return None
    wanted = title_words(control.title)
    if not wanted:
        return None
    # ts-017: one word of five or more characters in common is a match.
    return bool(wanted & title_words(response.title))


def page_matches(response: HttpObservation, control: ControlView) -> bool:
    """ts-017: the page is the control's unless status codes differ or nothing else matches."""
    if status_code_match(response, control) is False:
        return False
    return any(
        check(response, control) is True for check in (body_length_match, headers_match, title_match)
    )


def page_differs(response: HttpObservation, control: ControlView) -> bool:
    """Not the control's page by what the control tells of it: no title word in common, or, when
    the control's title has no word to compare, a length out of proportion. Not an OONI key: it
    decides whether our blockpage detector looks at a page that page_matches accepts on its
    status and header names alone (docs/verdicts.md R22). A shared title keeps a news article
    about blocking, a dynamic page or a page with a changing ad out of the detector."""
    titles = title_match(response, control)
    if titles is not None:
        return not titles
    return body_length_match(response, control) is not True


def all_tcp_failed(obs: WebObservations) -> bool:
    return bool(obs.tcp) and not any(row.success for row in obs.tcp)


def control_tcp_ok(control: ControlView) -> bool:
    return any(control.tcp.values()) or (control.http_failure is None and control.has_http)


def ooni_blocking(obs: WebObservations) -> tuple[str | bool | None, bool | None]:
    """(blocking, accessible) as Web Connectivity v0.4 sets them."""
    control = obs.control
    if obs.control_failure or control is None:
        return None, None
    consistency = dns_consistency(obs)
    if obs.dns_failure:
        if obs.dns_failure == failures.DNS_NXDOMAIN and control.dns_failure == failures.DNS_NXDOMAIN:
            return False, False
        if control.dns_failure:
            return False, False
        return "dns", False
    response = final_response(obs)
    if response is None:
        if all_tcp_failed(obs):
            if not control_tcp_ok(control):
                return False, False
            return ("dns" if consistency == "inconsistent" else "tcp_ip"), False
        if control.http_failure:
            return False, False
        return ("dns" if consistency == "inconsistent" else "http-failure"), False
    if (response.url or "").startswith("https://"):
        return False, True
    if page_matches(response, control):
        return False, True
    return ("dns" if consistency == "inconsistent" else "http-diff"), False


def ooni_keys(test_keys: Mapping[str, Any]) -> dict[str, Any]:
    obs = observe(test_keys)
    response = final_response(obs)
    blocking, accessible = ooni_blocking(obs)
    return {
        "dns_consistency": dns_consistency(obs),
        "body_length_match": body_length_match(response, obs.control),
        "body_proportion": body_proportion(response, obs.control),
        "headers_match": headers_match(response, obs.control),
        "status_code_match": status_code_match(response, obs.control),
        "title_match": title_match(response, obs.control),
        "blocking": blocking,
        "accessible": accessible,
    }
