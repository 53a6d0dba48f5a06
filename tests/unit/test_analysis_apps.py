"""One synthetic measurement per rule of docs/verdicts-tests.md (table-driven)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from censorwatch.analysis import analyse
from censorwatch.analysis.apps_common import blocking_of

# Every app and circumvention test the issue names (web_connectivity has its own tests).
APP_TESTS = (
    "telegram",
    "signal",
    "whatsapp",
    "facebook_messenger",
    "tor",
    "vanilla_tor",
    "torsf",
    "psiphon",
    "riseupvpn",
    "openvpn",
    "http_header_field_manipulation",
    "http_invalid_request_line",
    "dnscheck",
)


def m(test_name: str, test_keys: Any, **extra: Any) -> dict[str, Any]:
    base = {
        "test_name": test_name,
        "test_version": "0.2.2",
        "probe_cc": "IT",
        "probe_asn": "AS1",
        "measurement_start_time": "2022-11-18 10:00:00",
        "annotations": {"engine_version": "3.16.5"},
        "test_keys": test_keys,
    }
    base.update(extra)
    return base


def tcp(ip: str, port: int, ok: bool, failure: str | None = None) -> dict[str, Any]:
    return {
        "ip": ip,
        "port": port,
        "status": {"success": ok, "failure": None if ok else failure or "generic_timeout_error"},
    }


def req(url: str, failure: str | None = None, **response: Any) -> dict[str, Any]:
    return {
        "request": {"url": url, "headers": {}},
        "failure": failure,
        "response": response or ({"code": 200, "body": ""} if failure is None else None),
    }


DCS = ["149.154.175.50", "149.154.167.51", "149.154.175.100", "149.154.167.91", "149.154.171.5", "95.161.76.100"]
TG_WEB = "https://web.telegram.org/"


def telegram(tcp_ok: bool = True, http_fail: str | None = None, web_fail: str | None = None) -> dict[str, Any]:
    return {
        "tcp_connect": [tcp(ip, port, tcp_ok) for ip in DCS for port in (80, 443)],
        "requests": [req(f"http://{ip}/", http_fail) for ip in DCS] + [req(TG_WEB, web_fail)],
        "telegram_tcp_blocking": not tcp_ok,
        "telegram_http_blocking": http_fail is not None,
        "telegram_web_status": "blocked" if web_fail else "ok",
    }


SIGNAL_URLS = [
    "https://textsecure-service.whispersystems.org/",
    "https://storage.signal.org/",
    "https://cdn.signal.org/",
]


def whatsapp(endpoints_ok: bool = True, reg_fail: str | None = None, web_fail: str | None = None) -> dict[str, Any]:
    return {
        "tcp_connect": [tcp(f"3.33.221.{i}", port, endpoints_ok) for i in range(3) for port in (443, 5222)],
        "requests": [
            req("https://web.whatsapp.com/", web_fail),
            req("http://web.whatsapp.com/"),
            req("https://v.whatsapp.net/v2/register", reg_fail),
        ],
        "whatsapp_endpoints_status": "ok" if endpoints_ok else "blocked",
    }


def fb_query(host: str, ip: str, asn: int | None) -> dict[str, Any]:
    answer: dict[str, Any] = {"answer_type": "A", "ipv4": ip}
    if asn is not None:
        answer["asn"] = asn
    return {"hostname": host, "query_type": "A", "failure": None, "answers": [answer]}


def hhfm(sent: dict[str, str], echoed: dict[str, list[str]] | None, body: Any = "") -> dict[str, Any]:
    text = json.dumps({"headers_dict": echoed}) if echoed is not None else body
    return {
        "requests": [
            {
                "request": {"headers": sent, "url": "http://helper/"},
                "failure": None,
                "response": {"code": 200, "body": text},
            }
        ]
    }


SENT = {"HOsT": "x.com", "aCCept": "*/*"}
TOR_OK = {"failure": None, "network_events": [], "summary": {"connect": {"failure": None}}, "target_protocol": "obfs4"}
TOR_CONNECT = {
    "failure": "generic_timeout_error",
    "network_events": [],
    "summary": {"connect": {"failure": "generic_timeout_error"}},
    "target_protocol": "obfs4",
}
TOR_HANDSHAKE = {
    "failure": "connection_reset",
    "network_events": [],
    "summary": {"connect": {"failure": None}, "handshake": {"failure": "connection_reset"}},
    "target_protocol": "or_port",
}
TOR_OBFS4_UNKNOWN = TOR_HANDSHAKE | {"failure": "unknown_failure: obfs4: handshake failed", "target_protocol": "obfs4"}
TOR_UNREACHABLE = TOR_CONNECT | {"failure": "network_unreachable",
                                 "summary": {"connect": {"failure": "network_unreachable"}}}
TOR_LOGS_STALLED = ["Jan 01 00:00:00.000 [notice] Bootstrapped 0% (starting): Starting"]
PSIPHON = {"resolver_ip": "203.0.113.1"}  # fastpath scores psiphon without resolver_ip as broken


def lookup(failure: str | None = None, operation: str | None = None) -> dict[str, Any]:
    return {"failure": failure, "failed_operation": operation}


CASES: list[tuple[str, dict[str, Any], str | None, str | None, str]] = [
    # telegram (ts-020)
    ("telegram ok", m("telegram", telegram()), "ok", None, "reachable"),
    ("telegram all DC TCP fail", m("telegram", telegram(tcp_ok=False)), "anomaly", "tcp_ip", "TCP connects"),
    (
        "telegram DC HTTP all fail",
        m("telegram", telegram(http_fail="connection_reset")),
        "anomaly",
        "http-failure",
        "HTTP requests",
    ),
    ("telegram web TLS", m("telegram", telegram(web_fail="ssl_invalid_hostname")), "anomaly", "tls", "Telegram Web"),
    ("telegram web DNS", m("telegram", telegram(web_fail="dns_nxdomain_error")), "anomaly", "dns", "Telegram Web"),
    ("telegram nothing", m("telegram", {"requests": None, "tcp_connect": None}), "failure", None, "no Telegram"),
    (
        "telegram network down",
        m("telegram", {"tcp_connect": [tcp(ip, 443, False, "network_unreachable") for ip in DCS]}),
        "failure",
        None,
        "network failed",
    ),
    # signal (ts-029)
    ("signal ok", m("signal", {"requests": [req(u) for u in SIGNAL_URLS]}), "ok", None, "reachable"),
    (
        "signal one endpoint TLS",
        m("signal", {"requests": [req(SIGNAL_URLS[0], "ssl_invalid_hostname")] + [req(u) for u in SIGNAL_URLS[1:]]}),
        "anomaly",
        "tls",
        "1 of 3",
    ),
    ("signal DNS", m("signal", {"requests": [req(SIGNAL_URLS[0], "dns_nxdomain_error")]}), "anomaly", "dns", "failed"),
    ("signal v0.2.4 broken", m("signal", {"requests": []}, test_version="0.2.4"), "failure", None, "#2636"),
    (
        "signal old CA",
        m("signal", {}, test_version="0.2.0", measurement_start_time="2022-10-27 00:00:00"),
        "failure",
        None,
        "#2344",
    ),
    ("signal old engine", m("signal", {}, measurement_start_time="2023-05-30 00:00:00"), "failure", None, "#679"),
    (
        "signal censorwatch engine",
        m("signal", {"requests": [req(u) for u in SIGNAL_URLS]}, measurement_start_time="2024-06-01 00:00:00",
          test_version="0.2.5", annotations={"engine_name": "censorwatch"}),
        "ok",
        None,
        "reachable",
    ),
    ("signal no data", m("signal", {"requests": None}), "failure", None, "no Signal"),
    (
        "signal status only",
        m("signal", {"signal_backend_status": "blocked", "signal_backend_failure": "connection_reset"}),
        "anomaly",
        "tls",
        "reported blocked",
    ),
    # whatsapp (ts-018)
    ("whatsapp ok", m("whatsapp", whatsapp()), "ok", None, "reachable"),
    ("whatsapp all endpoints fail", m("whatsapp", whatsapp(endpoints_ok=False)), "anomaly", "tcp_ip", "all 6"),
    ("whatsapp registration", m("whatsapp", whatsapp(reg_fail="connection_reset")), "anomaly", "tls", "registration"),
    ("whatsapp web tcp", m("whatsapp", whatsapp(web_fail="connection_refused")), "anomaly", "tcp_ip", "WhatsApp Web"),
    (
        "whatsapp partial endpoints ok",
        m("whatsapp", {**whatsapp(), "tcp_connect": [tcp("3.3.3.3", 443, False), tcp("3.3.3.4", 5222, True)]}),
        "ok",
        None,
        "reachable",
    ),
    ("whatsapp no data", m("whatsapp", {}), "failure", None, "no WhatsApp"),
    # facebook_messenger (ts-019)
    (
        "facebook ok",
        m(
            "facebook_messenger",
            {
                "queries": [fb_query("b-api.facebook.com", "31.13.86.37", 32934)],
                "tcp_connect": [tcp("31.13.86.37", 443, True)],
            },
        ),
        "ok",
        None,
        "consistent",
    ),
    (
        "facebook foreign AS",
        m("facebook_messenger", {"queries": [fb_query("b-api.facebook.com", "8.8.8.8", 15169)], "tcp_connect": []}),
        "anomaly",
        "dns",
        "AS32934",
    ),
    (
        "facebook bogon",
        m("facebook_messenger", {"queries": [fb_query("edge-mqtt.facebook.com", "10.10.34.35", None)]}),
        "anomaly",
        "dns",
        "AS32934",
    ),
    (
        "facebook legacy key",
        m("facebook_messenger", {"facebook-star-dns-consistent": False, "facebook-star-reachable": True}),
        "anomaly",
        "dns",
        "star",
    ),
    (
        "facebook tcp",
        m(
            "facebook_messenger",
            {
                "queries": [fb_query("star.c10r.facebook.com", "31.13.86.8", 32934)],
                "tcp_connect": [tcp("31.13.86.8", 443, False)],
            },
        ),
        "anomaly",
        "tcp_ip",
        "1 of 1",
    ),
    ("facebook nothing", m("facebook_messenger", {}), "failure", None, "no Facebook"),
    # tor (ts-023)
    ("tor ok", m("tor", {"targets": {"a": TOR_OK, "b": TOR_OK}}), "ok", None, "all 2"),
    ("tor half failed", m("tor", {"targets": {"a": TOR_OK, "b": TOR_CONNECT}}), "ok", None, "1 of 2"),
    (
        "tor most failed connect",
        m("tor", {"targets": {"a": TOR_OK, "b": TOR_CONNECT, "c": TOR_CONNECT}}),
        "anomaly",
        "tcp_ip",
        "2 of 3",
    ),
    ("tor handshake", m("tor", {"targets": {"a": TOR_HANDSHAKE}}), "anomaly", "tls", "1 of 1"),
    ("tor not run", m("tor", {"targets": {"a": {"failure": False, "network_events": None}}}), "failure", None,
     "no Tor"),
    (
        "tor obfs4 unknown failure",
        m("tor", {"targets": {"a": TOR_OK, "b": TOR_OBFS4_UNKNOWN, "c": TOR_OBFS4_UNKNOWN}}),
        "anomaly",
        "tls",
        "2 of 3",
    ),
    ("tor probe network down", m("tor", {"targets": {"a": TOR_UNREACHABLE}}), "failure", None, "network failed"),
    ("tor no targets", m("tor", {"targets": {}}), "failure", None, "no Tor"),
    (
        "tor list layout",
        m("tor", {"targets": [{"tcp_connect": [tcp("1.2.3.4", 443, False)]}]}),
        "failure",
        None,
        "list layout",
    ),
    (
        "tor target without network_events",
        m("tor", {"targets": {"a": {"failure": None}}}),
        "failure",
        None,
        "network_events",
    ),
    # vanilla_tor (ts-016)
    (
        "vanilla ok logs",
        m("vanilla_tor", {"tor_logs": ["Bootstrapped 100% (done): Done"], "tor_progress": 100}),
        "ok",
        None,
        "100%",
    ),
    (
        "vanilla stall conn",
        m("vanilla_tor", {"tor_logs": TOR_LOGS_STALLED, "tor_progress": 5, "success": False}),
        "anomaly",
        "tcp_ip",
        "5%",
    ),
    ("vanilla stall handshake", m("vanilla_tor", {"tor_log": "", "tor_progress": 14}), "anomaly", "tls", "14%"),
    ("vanilla stall late", m("vanilla_tor", {"tor_logs": TOR_LOGS_STALLED, "tor_progress": 80}), "anomaly", None,
     "80%"),
    (
        "vanilla bootstrap never finishes",
        m("vanilla_tor", {"tor_logs": TOR_LOGS_STALLED, "tor_progress": 0, "error": "unknown-error",
                          "failure": "unknown_failure: bootstrap: context deadline exceeded"}),
        "anomaly",
        "tcp_ip",
        "stalled at 0%",
    ),
    ("vanilla no logs", m("vanilla_tor", {"success": False}), "failure", None, "no tor logs"),
    ("vanilla empty logs", m("vanilla_tor", {"tor_logs": [], "tor_progress": 100}), "failure", None, "no tor logs"),
    (
        "vanilla tor not started",
        m("vanilla_tor", {"tor_logs": [], "tor_progress": 0, "failure": "unknown_failure: exec: tor not found"}),
        "failure",
        None,
        "no tor logs",
    ),
    (
        "vanilla probe network down",
        m("vanilla_tor", {"tor_logs": TOR_LOGS_STALLED, "tor_progress": 0, "failure": "network_unreachable"}),
        "failure",
        None,
        "own network",
    ),
    # circumvention (ts-030, ts-015, ts-026, ts-040)
    ("torsf ok", m("torsf", {"failure": None, "bootstrap_time": 30.0}), "ok", None, "Snowflake"),
    ("torsf failed", m("torsf", {"failure": "generic_timeout_error", "bootstrap_time": 0}), "anomaly", None, "failed"),
    (
        "torsf unknown failure",
        m("torsf", {"failure": "unknown_failure: snowflake: no broker reachable", "tor_progress": 5,
                    "tor_logs": TOR_LOGS_STALLED}),
        "anomaly",
        "tcp_ip",
        "stalled at 5%",
    ),
    (
        "torsf failure despite logs",
        m("torsf", {"failure": "generic_timeout_error", "tor_progress": 100,
                    "tor_logs": ["Bootstrapped 100% (done): Done"]}),
        "anomaly",
        None,
        "failed",
    ),
    (
        "torsf android 3.8.3",
        m("torsf", {"failure": "generic_timeout_error"}, software_name="ooniprobe-android", software_version="3.8.3"),
        "failure",
        None,
        "3.8.3",
    ),
    ("torsf no result", m("torsf", {"failure": None, "bootstrap_time": 0}), "failure", None, "neither"),
    ("torsf probe network down", m("torsf", {"failure": "interrupted"}), "failure", None, "own network"),
    ("psiphon ok", m("psiphon", {"failure": None, "bootstrap_time": 3.2}, **PSIPHON), "ok", None, "bootstrapped"),
    (
        "psiphon bootstrap failed",
        m("psiphon", {"failure": "generic_timeout_error", "bootstrap_time": 0}, **PSIPHON),
        "anomaly",
        None,
        "bootstrap failed",
    ),
    (
        "psiphon tunnel timeout",
        m("psiphon", {"failure": "unknown_failure: clientlib: tunnel establishment timeout", "bootstrap_time": 0},
          **PSIPHON),
        "anomaly",
        None,
        "tunnel establishment timeout",
    ),
    (
        "psiphon use failed",
        m("psiphon", {"failure": "connection_reset", "bootstrap_time": 4.1}, **PSIPHON),
        "anomaly",
        None,
        "use after bootstrap",
    ),
    ("psiphon no result", m("psiphon", {"failure": None, "bootstrap_time": 0}, **PSIPHON), "failure", None,
     "neither"),
    ("psiphon local", m("psiphon", {"failure": "network_unreachable"}, **PSIPHON), "failure", None, "own network"),
    (
        "psiphon without resolver_ip",
        m("psiphon", {"failure": "generic_timeout_error", "bootstrap_time": 0}),
        "failure",
        None,
        "resolver_ip",
    ),
    (
        "riseup ok",
        m(
            "riseupvpn",
            {
                "api_status": "ok",
                "ca_cert_status": True,
                "requests": [req("https://riseup.net/")],
                "transport_status": {"openvpn": "ok"},
            },
        ),
        "ok",
        None,
        "reachable",
    ),
    (
        "riseup api tls",
        m("riseupvpn", {"requests": [req("https://black.riseup.net/ca.crt", "ssl_invalid_certificate")]}),
        "anomaly",
        "tls",
        "ca.crt",
    ),
    (
        "riseup api unknown failure",
        m("riseupvpn", {"requests": [req("https://riseup.net/provider.json", "unknown_failure: weird")]}),
        "anomaly",
        "http-failure",
        "provider.json",
    ),
    (
        "riseup probe network down",
        m("riseupvpn", {"requests": [req("https://riseup.net/provider.json", "network_unreachable")]}),
        "failure",
        None,
        "own network",
    ),
    (
        "riseup transport",
        m(
            "riseupvpn",
            {
                "api_status": "ok",
                "requests": [req("https://riseup.net/")],
                "transport_status": {"obfs4": "blocked", "openvpn": "ok"},
            },
        ),
        "anomaly",
        "tcp_ip",
        "obfs4",
    ),
    ("openvpn ok", m("openvpn", {"success": True, "failure": None}), "ok", None, "established"),
    (
        "openvpn tcp",
        m(
            "openvpn",
            {"success": False, "failure": "generic_timeout_error", "tcp_connect": tcp("1.2.3.4", 1194, False)},
        ),
        "anomaly",
        "tcp_ip",
        "TCP connect",
    ),
    (
        "openvpn handshake unknown failure",
        m("openvpn", {"success": False, "failure": "unknown_failure: openvpn handshake timeout",
                      "tcp_connect": tcp("1.2.3.4", 1194, True)}),
        "anomaly",
        "http-failure",
        "handshake timeout",
    ),
    ("openvpn no result", m("openvpn", {}), "failure", None, "no result"),
    ("openvpn failure without success", m("openvpn", {"failure": "eof_error"}), "failure", None, "no result"),
    # middlebox (ts-006, ts-007)
    (
        "hhfm unchanged",
        m("http_header_field_manipulation", hhfm(SENT, {k: [v] for k, v in SENT.items()} | {"Connection": ["close"]})),
        "ok",
        None,
        "unchanged",
    ),
    (
        "hhfm changed",
        m("http_header_field_manipulation", hhfm(SENT, {"Host": ["x.com"], "aCCept": ["*/*"]})),
        "anomaly",
        "http-diff",
        "HOsT",
    ),
    (
        "hhfm empty body",
        m("http_header_field_manipulation", hhfm(SENT, None, body=None)),
        "anomaly",
        "http-diff",
        "total",
    ),
    (
        "hhfm not json",
        m("http_header_field_manipulation", hhfm(SENT, None, body="<html>")),
        "anomaly",
        "http-diff",
        "not the helper",
    ),
    (
        "hhfm helper down",
        m("http_header_field_manipulation", {"requests": [req("http://h/", "connection_refused")]}),
        "failure",
        None,
        "not reached",
    ),
    ("hhfm no requests", m("http_header_field_manipulation", {"requests": None}), "failure", None, "no request"),
    (
        "hirl same",
        m(
            "http_invalid_request_line",
            {"sent": ["GET / HTTP/x\n\r"], "received": ["GET / HTTP/x\n\r"], "tampering": False},
        ),
        "ok",
        None,
        "unchanged",
    ),
    (
        "hirl changed",
        m("http_invalid_request_line", {"sent": ["XXXX / HTTP/1.1\n\r"], "received": ["HTTP/1.1 400 Bad Request"]}),
        "anomaly",
        "http-diff",
        "1 of 1",
    ),
    (
        "hirl base64",
        m("http_invalid_request_line", {"sent": ["AB"], "received": [{"format": "base64", "data": "QUI="}]}),
        "ok",
        None,
        "unchanged",
    ),
    ("hirl nothing", m("http_invalid_request_line", {"sent": [], "received": []}), "failure", None, "nothing"),
    # dnscheck (ts-028)
    ("dnscheck ok", m("dnscheck", {"lookups": {"dot://8.8.8.8:853": lookup()}}), "ok", None, "all 1"),
    (
        "dnscheck bootstrap",
        m("dnscheck", {"bootstrap_failure": "dns_nxdomain_error", "lookups": {}}),
        "anomaly",
        "dns",
        "did not resolve",
    ),
    (
        "dnscheck all fail tls",
        m(
            "dnscheck",
            {
                "lookups": {
                    "dot://1.1.1.1:853": lookup("connection_reset", "tls_handshake"),
                    "dot://1.0.0.1:853": lookup("connection_reset", "tls_handshake"),
                }
            },
        ),
        "anomaly",
        "tls",
        "all 2",
    ),
    (
        "dnscheck partial",
        m("dnscheck", {"lookups": {"a": lookup("generic_timeout_error", "connect"), "b": lookup()}}),
        "ok",
        None,
        "1 of 2",
    ),
    ("dnscheck nothing", m("dnscheck", {}), "failure", None, "no lookup"),
]


@pytest.mark.parametrize(("name", "measurement", "verdict", "blocking", "reason"), CASES, ids=[c[0] for c in CASES])
def test_rule(name: str, measurement: dict[str, Any], verdict: str | None, blocking: str | None, reason: str) -> None:
    result = analyse(measurement)
    assert (result.verdict, result.blocking) == (verdict, blocking), result
    assert reason in result.reason


@pytest.mark.parametrize(
    ("measurement", "claim"),
    [
        (m("telegram", telegram(tcp_ok=False)), "blocked: telegram_tcp_blocking=true"),
        (m("telegram", telegram()), "ok: telegram_tcp_blocking=false"),
        (
            m("signal", {"signal_backend_status": "ok", "requests": [req(SIGNAL_URLS[0])]}),
            "ok: signal_backend_status=ok",
        ),
        (m("whatsapp", whatsapp()), "ok: whatsapp_endpoints_status=ok"),
        (
            m("facebook_messenger", {"facebook_tcp_blocking": True, "tcp_connect": [tcp("1.1.1.1", 443, False)]}),
            "blocked: facebook_tcp_blocking=true",
        ),
        (m("tor", {"targets": {"a": TOR_OK}, "obfs4_total": 2, "obfs4_accessible": 1}), "obfs4=1/2"),
        (m("vanilla_tor", {"success": False, "tor_progress": 5, "tor_logs": []}), "blocked: success=false"),
        (m("torsf", {"failure": "eof_error"}), "blocked: failure=eof_error"),
        (
            m("http_header_field_manipulation", {"tampering": {"total": False, "header_name_diff": []}}),
            "ok: tampering=none",
        ),
        (
            m("http_invalid_request_line", {"tampering": True, "sent": ["a"], "received": ["b"]}),
            "blocked: tampering=true",
        ),
        (
            m("dnscheck", {"bootstrap_failure": None, "lookups": {"a": lookup()}}),
            "bootstrap_failure=null, lookups_failed=0/1",
        ),
    ],
)
def test_ooni_claim_text(measurement: dict[str, Any], claim: str) -> None:
    assert (analyse(measurement).ooni_blocking or "").startswith(claim)


@pytest.mark.parametrize("test_name", APP_TESTS)
@pytest.mark.parametrize(
    "keys",
    [
        {
            "requests": "nope",
            "tcp_connect": 7,
            "queries": [None, 1],
            "targets": "x",
            "lookups": [1],
            "tor_logs": 5,
            "sent": {"a": 1},
            "received": None,
        },
        {
            "requests": [None, {"request": None, "response": 3, "failure": 5}],
            "tcp_connect": [{"ip": 1, "status": None}],
            "targets": {"a": None},
            "lookups": {"a": None},
            "tor_progress": "high",
            "transport_status": [],
        },
    ],
)
def test_malformed_content_never_raises(test_name: str, keys: dict[str, Any]) -> None:
    verdict = analyse(m(test_name, keys))
    assert verdict.verdict in ("ok", "anomaly", "failure")
    assert not verdict.reason.startswith("malformed")


@pytest.mark.parametrize(
    ("failure", "operation", "https", "expected"),
    [
        ("dns_nxdomain_error", None, True, "dns"),
        ("ssl_unknown_authority", None, True, "tls"),
        ("connection_refused", None, True, "tcp_ip"),
        ("connection_reset", None, True, "tls"),
        ("connection_reset", None, False, "http-failure"),
        ("generic_timeout_error", "tls_handshake", True, "tls"),
        ("generic_timeout_error", "connect", True, "tcp_ip"),
        ("eof_error", "http_round_trip", True, "http-failure"),
    ],
)
def test_blocking_of(failure: str, operation: str | None, https: bool, expected: str) -> None:
    assert blocking_of(failure, operation, https) == expected
