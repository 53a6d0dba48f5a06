"""The http3 verdict rules (analysis/http3.py), case by case on hand-built test_keys."""

from __future__ import annotations

from typing import Any

import pytest

from censorwatch.analysis.http3 import analyse


def request(transport: str, code: int | None, failure: str | None = None) -> dict[str, Any]:
    return {"network": transport, "alpn": "h3" if transport == "udp" else "http/1.1", "failure": failure,
            "request": {"url": "https://example.org/", "method": "GET", "x_transport": transport},
            "response": {"code": code, "headers_list": []} if code is not None else None}


def keys(*, h3: str | None = None, h3_op: str | None = None, tcp: str | None = None, tcp_op: str | None = None,
         alt_svc: bool | None = True, h3_answered: bool | None = None, tcp_answered: bool | None = None,
         handshakes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    requests = []
    if h3_answered if h3_answered is not None else h3 is None:
        requests.append(request("udp", 200))
    if tcp_answered if tcp_answered is not None else tcp is None:
        requests.append(request("tcp", 200))
    return {"test_name": "http3", "test_keys": {
        "requests": requests, "quic_handshakes": handshakes or [], "tcp_tls_failure": tcp,
        "tcp_tls_failed_operation": tcp_op, "http3_failure": h3, "http3_failed_operation": h3_op,
        "x_alt_svc_h3": alt_svc}}


CASES: list[tuple[str, dict[str, Any], str, str | None]] = [
    ("both work", keys(), "ok", None),
    ("http3 works, tcp reset", keys(tcp="connection_reset", tcp_op="tls_handshake", alt_svc=None), "ok", None),
    ("quic times out, tcp works", keys(h3="generic_timeout_error", h3_op="quic_handshake"), "anomaly", "quic"),
    ("h3 request fails after handshake", keys(h3="generic_timeout_error", h3_op="http_round_trip"),
     "anomaly", "quic"),
    ("alt-svc unknown still quic", keys(h3="generic_timeout_error", h3_op="quic_handshake", alt_svc=None),
     "anomaly", "quic"),
    ("server offers no h3", keys(h3="generic_timeout_error", h3_op="quic_handshake", alt_svc=False), "ok", None),
    ("both fail at tls", keys(h3="generic_timeout_error", h3_op="quic_handshake", tcp="connection_reset",
                              tcp_op="tls_handshake", alt_svc=None), "anomaly", "tls"),
    ("both fail at connect", keys(h3="generic_timeout_error", h3_op="quic_handshake", tcp="generic_timeout_error",
                                  tcp_op="connect", alt_svc=None), "anomaly", "tcp_ip"),
    ("both fail at dns", keys(h3="dns_nxdomain_error", h3_op="resolve", tcp="dns_nxdomain_error", tcp_op="resolve",
                              alt_svc=None), "anomaly", "dns"),
    ("probe network down on quic", keys(h3="network_unreachable", h3_op="quic_handshake"), "failure", None),
    ("probe network down on tcp", keys(h3="generic_timeout_error", h3_op="quic_handshake", tcp="network_unreachable",
                                       tcp_op="connect", alt_svc=None), "failure", None),
    ("nothing measured", {"test_name": "http3", "test_keys": {}}, "failure", None),
    ("no quic trace", keys(h3_answered=False), "failure", None),
    # Summary keys missing (another writer): the raw requests and handshakes decide.
    ("raw keys only: quic blocked", {"test_name": "http3", "test_keys": {
        "requests": [request("tcp", 200)],
        "quic_handshakes": [{"network": "udp", "failure": "generic_timeout_error"}]}}, "anomaly", "quic"),
    ("raw keys only: both work", {"test_name": "http3", "test_keys": {
        "requests": [request("udp", 200), request("tcp", 200)]}}, "ok", None),
]


@pytest.mark.parametrize(("name", "measurement", "verdict", "blocking"), CASES, ids=[c[0] for c in CASES])
def test_rules(name: str, measurement: dict[str, Any], verdict: str, blocking: str | None) -> None:
    result = analyse(measurement)
    assert (result.verdict, result.blocking) == (verdict, blocking), result.reason


def test_the_reason_names_both_failures() -> None:
    result = analyse(keys(h3="generic_timeout_error", h3_op="quic_handshake", tcp="connection_reset",
                          tcp_op="tls_handshake", alt_svc=None))
    assert "generic_timeout_error" in result.reason and "connection_reset" in result.reason
    assert result.ooni_blocking is not None and "http3_failure=generic_timeout_error" in result.ooni_blocking


@pytest.mark.parametrize("garbage", [None, [], "x", {"requests": "nope", "quic_handshakes": 3}])
def test_malformed_keys_never_raise(garbage: Any) -> None:
    assert analyse({"test_name": "http3", "test_keys": garbage}).verdict == "failure"
