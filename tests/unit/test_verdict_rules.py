"""One case per rule of docs/verdicts.md (the rule ids are the test ids)."""

from __future__ import annotations

from typing import Any

import pytest

from censorwatch.analysis import analyse
from censorwatch.analysis.web_connectivity_keys import ooni_keys
from tests.unit.wc_builder import PAGE, measurement

BLOCKPAGE_RU = (
    "<html><title>Доступ ограничен</title>"
    "<body>Доступ к сайту ограничен в соответствии с Федеральными законами</body></html>"
)
# Issue #21: no fingerprint knows it; served with status 200 and the site's header names.
LEGAL_NOTICE_RU = (
    "<html><title>Уведомление</title><body>Доступ к информационному ресурсу ограничен на основании "
    "Федерального закона № 149-ФЗ</body></html>"
)
NEWS_ABOUT_BLOCKING = (
    "<html><title>Example Domain News: blocked</title><body>Доступ к ресурсу ограничен по решению суда "
    "на основании 149-ФЗ, сообщил Роскомнадзор.</body></html>"
)

CASES: list[tuple[str, dict[str, Any], str | None, str | None]] = [
    ("R1-no-control", {"control_failure": "generic_timeout_error"}, "failure", None),
    ("R1-empty-control", {"no_control": True}, "failure", None),
    ("R2-probe-network-down", {"tcp": [("93.184.216.34", False, "network_unreachable")],
                               "http_failure": "network_unreachable"}, "failure", None),
    ("R3-nxdomain", {"dns_failure": "dns_nxdomain_error"}, "anomaly", "dns"),
    ("R3-dns-timeout", {"dns_failure": "generic_timeout_error"}, "anomaly", "dns"),
    ("R4-dns-down-for-control-too", {"dns_failure": "dns_nxdomain_error",
                                     "control_dns_failure": "dns_nxdomain_error"}, "ok", None),
    ("R5-dns-fingerprint", {"answers": ["10.10.34.35"], "probe_cc": "IR",
                            "tcp": [("10.10.34.35", True, None)]}, "confirmed", "dns"),
    ("R6-bogon-answer", {"answers": ["10.99.1.1"], "response": (200, "<title>Blocked</title>", {})}, "anomaly", "dns"),
    ("R6-loopback-forged", {"answers": ["127.0.0.77"], "control_addrs": ["127.0.0.1"],
                            "tcp": [("127.0.0.77", False, "connection_refused")],
                            "http_failure": "connection_refused"}, "anomaly", "dns"),
    ("R7-inconsistent-dns-page-differs", {"answers": ["203.0.113.9"],
                                          "response": (200, "<title>Other</title>", {})}, "anomaly", "dns"),
    ("R8-geo-dns-page-matches", {"answers": ["198.51.100.7"]}, "ok", None),
    ("R9-dns-to-blockpage-fingerprint", {"answers": ["198.51.100.7"],
                                         "response": (200, BLOCKPAGE_RU, {})}, "confirmed", "dns"),
    ("R10-tcp-blocked", {"tcp": [("93.184.216.34", False, "generic_timeout_error")],
                         "http_failure": "generic_timeout_error"}, "anomaly", "tcp_ip"),
    ("R11-tcp-down-for-control-too", {"tcp": [("93.184.216.34", False, "connection_refused")],
                                      "http_failure": "connection_refused", "control_tcp_ok": False,
                                      "control_http_failure": "connection_refused"}, "ok", None),
    ("R12-tls-reset", {"url": "https://example.org/", "tls": [("93.184.216.34", "connection_reset")],
                       "http_failure": "connection_reset"}, "anomaly", "tls"),
    ("R12-tls-untrusted-ca", {"url": "https://example.org/", "tls": [("93.184.216.34", "ssl_unknown_authority")],
                              "http_failure": "ssl_unknown_authority"}, "anomaly", "tls"),
    ("R13-tls-down-for-control-too", {"url": "https://example.org/", "tls": [("93.184.216.34", "eof_error")],
                                      "http_failure": "eof_error", "control_tls_ok": False,
                                      "control_http_failure": "eof_error"}, "ok", None),
    ("R14-http-failure", {"http_failure": "connection_reset"}, "anomaly", "http-failure"),
    ("R15-http-down-for-control-too", {"http_failure": "eof_error", "control_http_failure": "eof_error"}, "ok", None),
    ("R16-blockpage-fingerprint", {"response": (200, BLOCKPAGE_RU, {})}, "confirmed", "http-diff"),
    ("R17-https-final-response", {"url": "https://example.org/", "tls": [("93.184.216.34", None)],
                                  "response": (200, "<title>Other</title>", {})}, "ok", None),
    ("R18-page-matches", {}, "ok", None),
    ("R19-dynamic-content", {"response": (200, PAGE.replace("x" * 2000, "y" * 1500), {"X-Other": "1"})}, "ok", None),
    ("R20-status-differs", {"response": (403, "<title>Forbidden</title>", {})}, "anomaly", "http-diff"),
    ("R20-nothing-matches", {"response": (200, "<title>Something else</title>z", {})}, "anomaly", "http-diff"),
    ("R21-control-http-failed-probe-ok", {"control_http_failure": "generic_timeout_error"}, "ok", None),
    ("R22-legal-notice-same-headers", {"response": (200, LEGAL_NOTICE_RU, {"X-Site": "1"})}, "anomaly", "http-diff"),
    ("R22-dns-to-lookalike", {"answers": ["198.51.100.7"], "response": (200, LEGAL_NOTICE_RU, {"X-Site": "1"})},
     "anomaly", "dns"),
    ("R22-news-about-blocking-same-title", {"response": (200, NEWS_ABOUT_BLOCKING, {"X-Site": "1"})}, "ok", None),
    ("R22-page-differs-no-blockpage", {"response": (200, "<title>Other</title>", {"X-Site": "1"})}, "ok", None),
]


@pytest.mark.parametrize(("rule", "kwargs", "verdict", "blocking"), CASES, ids=[c[0] for c in CASES])
def test_rule(rule: str, kwargs: dict[str, Any], verdict: str | None, blocking: str | None) -> None:
    result = analyse(measurement(**kwargs))
    assert (result.verdict, result.blocking) == (verdict, blocking), result.reason
    assert result.reason
    if verdict == "confirmed":
        assert result.fingerprint
    else:
        assert result.fingerprint is None


def test_r22_redirect_to_a_register_host() -> None:
    """The redirect decides even when the blockpage host's page comes over valid HTTPS (before R17)."""
    m = measurement(url="http://example.org/", response=(200, "<title>Реестр</title>", {"X-Site": "1"}))
    first = m["test_keys"]["requests"][0]
    landing = {"request": {"url": "https://blocklist.rkn.gov.ru/", "method": "GET"},
               "response": first["response"], "failure": None}
    first["response"] = {"code": 302, "body": "", "headers": {"Location": "https://blocklist.rkn.gov.ru/"}}
    m["test_keys"]["requests"] = [landing, first]  # OONI lists the final response first
    result = analyse(m)
    assert (result.verdict, result.blocking) == ("anomaly", "http-diff"), result.reason
    assert "blocklist.rkn.gov.ru" in result.reason


def test_ooni_blocking_claim_is_kept() -> None:
    assert analyse(measurement(claimed="dns")).ooni_blocking == "dns"
    assert analyse(measurement(claimed=False)).ooni_blocking == "false"
    assert analyse(measurement(claimed=None)).ooni_blocking is None


@pytest.mark.parametrize(
    ("kwargs", "blocking", "accessible"),
    [
        ({}, False, True),
        ({"dns_failure": "dns_nxdomain_error"}, "dns", False),
        ({"tcp": [("93.184.216.34", False, "generic_timeout_error")], "http_failure": "generic_timeout_error"},
         "tcp_ip", False),
        ({"http_failure": "connection_reset"}, "http-failure", False),
        ({"response": (403, "<title>Forbidden</title>", {})}, "http-diff", False),
        ({"answers": ["203.0.113.9"], "response": (403, "<title>Forbidden</title>", {})}, "dns", False),
        ({"control_failure": "generic_timeout_error"}, None, None),
        ({"http_failure": "eof_error", "control_http_failure": "eof_error"}, False, False),
        # v0.4 calls the unfingerprinted blockpage accessible (R22 is ours, not OONI's)
        ({"response": (200, LEGAL_NOTICE_RU, {"X-Site": "1"})}, False, True),
    ],
)
def test_ooni_keys_blocking(kwargs: dict[str, Any], blocking: object, accessible: object) -> None:
    keys = ooni_keys(measurement(**kwargs)["test_keys"])
    assert (keys["blocking"], keys["accessible"]) == (blocking, accessible)


def test_ooni_keys_comparisons() -> None:
    keys = ooni_keys(measurement()["test_keys"])
    assert keys["dns_consistency"] == "consistent"
    assert keys["body_length_match"] is True
    assert keys["body_proportion"] == pytest.approx(1.0)
    assert keys["status_code_match"] is True
    assert keys["title_match"] is True
    assert keys["headers_match"] is True
    other = ooni_keys(measurement(response=(500, "<title>Oops</title>", {"X-Err": "1"}))["test_keys"])
    assert other["status_code_match"] is False
    assert other["title_match"] is False
    assert other["headers_match"] is False
    assert other["body_length_match"] is False


@pytest.mark.parametrize("junk", [{"queries": "nope", "tcp_connect": 3, "requests": [None, 1]}, {"control": []}])
def test_malformed_test_keys_never_raise(junk: dict[str, Any]) -> None:
    m = measurement()
    m["test_keys"].update(junk)
    assert analyse(m).verdict in {"ok", "anomaly", "confirmed", "failure"}
