"""The telegram probe test (ts-020) against the lab's telegram cases: real servers on loopback,
real sockets from the censored source; each measurement must carry probe-cli's verdict keys and
be judged by analysis/telegram.py as the case expects."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

import pytest

from censorwatch.analysis import dispatch
from censorwatch.lab import Lab
from censorwatch.probe.endpoints_file import EndpointsError, load_endpoints
from censorwatch.probe.experiments import telegram
from tests.integration.lab_probe import measure_runnable, runnable_case

pytestmark = pytest.mark.integration

CASES = ("telegram-ok", "telegram-ip-reset", "telegram-ip-drop", "telegram-web-sni-reset")
# probe-cli's own keys for each case: (tcp_blocking, http_blocking, web_status, web_failure)
OONI_KEYS = {
    "telegram-ok": (False, False, "ok", None),
    "telegram-ip-reset": (False, True, "blocked", "connection_reset"),
    "telegram-ip-drop": (True, True, "blocked", "generic_timeout_error"),
    "telegram-web-sni-reset": (False, False, "blocked", "connection_reset"),
}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab(tmp_path_factory.mktemp("telegram-lab"), tests={"telegram"}) as running:
        yield running


@pytest.fixture(scope="module")
def measured(lab: Lab) -> dict[str, dict[str, Any]]:
    return measure_runnable(lab, CASES, telegram.measure, report_id="20240101T000000Z_telegram_RU_0_n1_lab")


def test_lab_offers_the_telegram_cases(lab: Lab) -> None:
    names = {case.name for case in lab.app_cases if case.test_name == "telegram"}
    assert names == set(CASES)


@pytest.mark.parametrize("name", CASES)
def test_case_verdict(lab: Lab, measured: dict[str, dict[str, Any]], name: str) -> None:
    case = runnable_case(lab, name)
    verdict = dispatch.analyse(measured[name])
    assert (verdict.verdict, verdict.blocking) == (case.expected_verdict, case.expected_blocking), verdict.reason


@pytest.mark.parametrize("name", CASES)
def test_ooni_keys(lab: Lab, measured: dict[str, dict[str, Any]], name: str) -> None:
    runnable_case(lab, name)
    tk = measured[name]["test_keys"]
    got = (tk["telegram_tcp_blocking"], tk["telegram_http_blocking"], tk["telegram_web_status"],
           tk["telegram_web_failure"])
    assert got == OONI_KEYS[name]


@pytest.mark.parametrize("name", CASES)
def test_measurement_shape(lab: Lab, measured: dict[str, dict[str, Any]], name: str) -> None:
    case = runnable_case(lab, name)
    measurement = measured[name]
    assert (measurement["test_name"], measurement["test_version"], measurement["input"]) == ("telegram", "0.3.0", None)
    tk = measurement["test_keys"]
    # Every DC address on every port, plus the web: 2 x 2 POSTs + 1 GET.
    dcs = [(dc, port) for dc in case.section["datacenters"] for port in case.section["ports"]]
    posts = [r for r in tk["requests"] if r["request"]["method"] == "POST"]
    assert len(posts) == len(dcs)
    assert {r["request"]["url"] for r in posts} == {f"http://{dc}:{port}/" for dc, port in dcs}
    web = [r for r in tk["requests"] if r["request"]["url"] == "https://web.telegram.org/"]
    assert len(web) == 1 and web[0]["request"]["headers"]["Host"] == "web.telegram.org"
    # Nothing left loopback: connect_to sent web.telegram.org to the lab.
    assert tk["tcp_connect"] and all(ipaddress.ip_address(row["ip"]).is_loopback for row in tk["tcp_connect"])


def test_sni_is_the_real_name(measured: dict[str, dict[str, Any]]) -> None:
    handshakes = measured["telegram-web-sni-reset"]["test_keys"]["tls_handshakes"]
    assert [(h["server_name"], h["failure"]) for h in handshakes] == [("web.telegram.org", "connection_reset")]
    ok = measured["telegram-ok"]["test_keys"]["tls_handshakes"]
    assert ok[0]["failure"] is None and ok[0]["peer_certificates"]


def test_shipped_section_is_the_spec_list() -> None:
    section = telegram.parse_section(load_endpoints().section("telegram"))
    assert "149.154.175.50" in section.datacenters and len(section.datacenters) == 6
    assert section.ports == (80, 443) and section.web_url == "https://web.telegram.org/"
    assert telegram.inputs(load_endpoints().section("telegram")) == [None]


@pytest.mark.parametrize(("section", "key"), [
    ({"ports": [80], "web_url": "https://w/"}, "datacenters"),
    ({"datacenters": ["1.2.3.4"], "ports": [0], "web_url": "https://w/"}, "ports"),
    ({"datacenters": ["1.2.3.4"], "ports": ["80"], "web_url": "https://w/"}, "ports"),
    ({"datacenters": ["1.2.3.4"], "ports": [80], "web_url": "ftp://w/"}, "web_url"),
    ({"datacenters": ["1.2.3.4"], "ports": [80], "web_url": "https://w/", "connect_to": {"w": "x:1"}}, "connect_to"),
])
def test_bad_section_names_the_key(section: dict[str, Any], key: str) -> None:
    with pytest.raises(EndpointsError, match=repr(key)):
        telegram.inputs(section)
