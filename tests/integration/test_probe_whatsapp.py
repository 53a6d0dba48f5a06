"""The whatsapp probe test (ts-018) against the lab's whatsapp cases: real servers on loopback,
real sockets from the censored source; each measurement must carry probe-cli's verdict keys and
be judged by analysis/whatsapp.py as the case expects."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

import pytest

from censorwatch.analysis import dispatch
from censorwatch.lab import Lab
from censorwatch.probe.endpoints_file import EndpointsError, load_endpoints
from censorwatch.probe.experiments import whatsapp
from censorwatch.probe.experiments.messenger_steps import Outcome
from tests.integration.lab_probe import measure_runnable, runnable_case

pytestmark = pytest.mark.integration

CASES = ("whatsapp-ok", "whatsapp-ip-reset", "whatsapp-ip-drop", "whatsapp-web-sni-reset",
         "whatsapp-registration-dns")
BOTH = ["e1.whatsapp.net", "e2.whatsapp.net"]
# probe-cli's own keys: (endpoints_status, endpoints_blocked, registration status/failure, web status/failure)
OONI_KEYS = {
    "whatsapp-ok": ("ok", [], "ok", None, "ok", None),
    "whatsapp-ip-reset": ("ok", [], "blocked", "connection_reset", "blocked", "connection_reset"),
    "whatsapp-ip-drop": ("blocked", BOTH, "blocked", "generic_timeout_error", "blocked", "generic_timeout_error"),
    "whatsapp-web-sni-reset": ("ok", [], "ok", None, "blocked", "connection_reset"),
    "whatsapp-registration-dns": ("ok", [], "blocked", "dns_nxdomain_error", "ok", None),
}
REGISTRATION = "https://v.whatsapp.net/v2/register"
WEB = "https://web.whatsapp.com/"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab(tmp_path_factory.mktemp("whatsapp-lab"), tests={"whatsapp"}) as running:
        yield running


@pytest.fixture(scope="module")
def measured(lab: Lab) -> dict[str, dict[str, Any]]:
    return measure_runnable(lab, CASES, whatsapp.measure, report_id="20240101T000000Z_whatsapp_RU_0_n1_lab")


def test_lab_offers_the_whatsapp_cases(lab: Lab) -> None:
    assert {case.name for case in lab.app_cases if case.test_name == "whatsapp"} == set(CASES)


@pytest.mark.parametrize("name", CASES)
def test_case_verdict(lab: Lab, measured: dict[str, dict[str, Any]], name: str) -> None:
    case = runnable_case(lab, name)
    verdict = dispatch.analyse(measured[name])
    assert (verdict.verdict, verdict.blocking) == (case.expected_verdict, case.expected_blocking), verdict.reason


@pytest.mark.parametrize("name", CASES)
def test_ooni_keys(lab: Lab, measured: dict[str, dict[str, Any]], name: str) -> None:
    runnable_case(lab, name)
    tk = measured[name]["test_keys"]
    got = (tk["whatsapp_endpoints_status"], tk["whatsapp_endpoints_blocked"], tk["registration_server_status"],
           tk["registration_server_failure"], tk["whatsapp_web_status"], tk["whatsapp_web_failure"])
    assert got == OONI_KEYS[name]
    assert tk["whatsapp_endpoints_dns_inconsistent"] == []


@pytest.mark.parametrize("name", CASES)
def test_measurement_shape(lab: Lab, measured: dict[str, dict[str, Any]], name: str) -> None:
    runnable_case(lab, name)
    measurement = measured[name]
    assert (measurement["test_name"], measurement["test_version"], measurement["input"]) == ("whatsapp", "0.11.0", None)
    tk = measurement["test_keys"]
    assert sorted(r["request"]["url"] for r in tk["requests"]) == [REGISTRATION, WEB]
    # Nothing left loopback: every connection went where connect_to sent it.
    assert all(ipaddress.ip_address(row["ip"]).is_loopback for row in tk["tcp_connect"])
    # One connect per endpoint and port (the lab names have one address each), plus registration and web.
    expected_connects = 2 * 2 + (1 if tk["registration_server_failure"] != "dns_nxdomain_error" else 0) + 1
    assert len(tk["tcp_connect"]) == expected_connects


def test_partial_endpoint_failure_is_not_blocking() -> None:
    """probe-cli's rule (whatsapp.go Update): an endpoint is blocked when every port failed, the
    endpoints only when every connect failed."""
    ok, bad = Outcome(), Outcome("connection_refused", "connect")
    keys = whatsapp.verdict_keys([("e1", bad), ("e1", ok), ("e2", bad), ("e2", bad)], ok, ok)
    assert (keys["whatsapp_endpoints_status"], keys["whatsapp_endpoints_blocked"]) == ("ok", ["e2"])
    keys = whatsapp.verdict_keys([("e1", bad), ("e2", bad)], ok, bad)
    assert (keys["whatsapp_endpoints_status"], keys["whatsapp_web_status"]) == ("blocked", "blocked")


def test_shipped_section_is_the_spec_list() -> None:
    section = whatsapp.parse_section(load_endpoints().section("whatsapp"))
    assert section.endpoints == tuple(f"e{i}.whatsapp.net" for i in range(1, 17))
    assert section.endpoint_ports == (443, 5222)
    assert (section.registration_url, section.web_url) == (REGISTRATION, WEB)


@pytest.mark.parametrize(("change", "key"), [
    ({"endpoints": []}, "endpoints"),
    ({"endpoint_ports": [70000]}, "endpoint_ports"),
    ({"registration_url": "http://v.whatsapp.net/v2/register"}, "registration_url"),
    ({"web_url": 3}, "web_url"),
    ({"connect_to": ["v.whatsapp.net:443"]}, "connect_to"),
    ({"connect_to": {"v.whatsapp.net:443": "nowhere"}}, "connect_to"),
])
def test_bad_section_names_the_key(change: dict[str, Any], key: str) -> None:
    section = {**load_endpoints().section("whatsapp"), **change}
    with pytest.raises(EndpointsError, match=repr(key)):
        whatsapp.inputs(section)
