"""Facebook Messenger (ooni/spec nettests/ts-019-facebook-messenger.md): each endpoint's A
answers must lie in Facebook's AS32934 (else DNS tampering); any failed TCP connect on 443 to a
consistent address means TCP blocking. Versions <= 0.3.0 spelled keys with '-'."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from censorwatch.analysis.apps_common import claim, is_local, present, tcp_results, test_keys
from censorwatch.analysis.bogons import is_bogon
from censorwatch.analysis.shapes import items, mapping, text
from censorwatch.model.verdict import ANOMALY, DNS, FAILURE, OK, TCP_IP, Verdict

FACEBOOK_ASN = 32934
ENDPOINTS = {
    "stun.fbsbx.com": "stun",
    "b-api.facebook.com": "b_api",
    "b-graph.facebook.com": "b_graph",
    "edge-mqtt.facebook.com": "edge",
    "external.xx.fbcdn.net": "external_cdn",
    "scontent.xx.fbcdn.net": "scontent_cdn",
    "star.c10r.facebook.com": "star",
}


def normalised(tk: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k).replace("-", "_"): v for k, v in tk.items()}


def ooni_claim(tk: Mapping[str, Any]) -> str | None:
    keys = present(tk, "facebook_tcp_blocking", "facebook_dns_blocking")
    if not keys:
        return None
    return claim(keys, any(v is True for _, v in keys))


def inconsistent_endpoints(tk: Mapping[str, Any]) -> list[str]:
    """Endpoints with an answer outside AS32934 (or a bogon). Answers without an ASN fall back to
    the probe's own facebook_<endpoint>_dns_consistent key."""
    bad: list[str] = []
    for query in map(mapping, items(tk.get("queries"))):
        host = text(query.get("hostname")) or ""
        name = ENDPOINTS.get(host)
        if name is None:
            continue
        for answer in map(mapping, items(query.get("answers"))):
            ip = text(answer.get("ipv4")) or text(answer.get("ipv6"))
            if ip is None:
                continue
            asn = answer.get("asn")
            outside = is_bogon(ip) or (isinstance(asn, int) and asn != FACEBOOK_ASN)
            unknown = not isinstance(asn, int) and tk.get(f"facebook_{name}_dns_consistent") is False
            if (outside or unknown) and host not in bad:
                bad.append(host)
    for host, name in ENDPOINTS.items():
        if tk.get(f"facebook_{name}_dns_consistent") is False and host not in bad and not _has_asns(tk, host):
            bad.append(host)
    return bad


def _has_asns(tk: Mapping[str, Any], host: str) -> bool:
    return any(
        isinstance(mapping(a).get("asn"), int)
        for q in map(mapping, items(tk.get("queries"))) if q.get("hostname") == host
        for a in items(q.get("answers"))
    )


def analyse(measurement: Mapping[str, Any]) -> Verdict:
    tk = normalised(test_keys(measurement))
    claimed = ooni_claim(tk)
    tcp = tcp_results(tk)
    dns_failures = [text(mapping(q).get("failure")) for q in items(tk.get("queries"))]
    if not tcp and not dns_failures and not any(k.endswith("_dns_consistent") for k in tk):
        return Verdict(FAILURE, None, "no Facebook Messenger endpoint was measured", ooni_blocking=claimed)
    failures = [f for f in dns_failures if f] + [f for *_, f in tcp if f]
    if failures and all(is_local(f) for f in failures) and not any(ok for *_, ok, _ in tcp):
        return Verdict(FAILURE, None, f"the probe's network failed ({failures[0]})", ooni_blocking=claimed)
    bad = inconsistent_endpoints(tk)
    if bad:
        return Verdict(ANOMALY, DNS, f"answers outside Facebook's AS{FACEBOOK_ASN} for {', '.join(bad[:3])}",
                       ooni_blocking=claimed)
    failed = [(ip, port, f) for ip, port, ok, f in tcp if not ok]
    if failed:
        ip, port, failure = failed[0]
        return Verdict(ANOMALY, TCP_IP, f"{len(failed)} of {len(tcp)} TCP connects failed, first {ip}:{port}: "
                       f"{failure}", ooni_blocking=claimed)
    if not tcp and any(tk.get(f"facebook_{n}_reachable") is False for n in ENDPOINTS.values()):
        return Verdict(ANOMALY, TCP_IP, "endpoints reported unreachable (no raw data)", ooni_blocking=claimed)
    return Verdict(OK, None, "all Facebook Messenger endpoints consistent and reachable", ooni_blocking=claimed)
