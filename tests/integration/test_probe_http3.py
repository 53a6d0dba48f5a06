"""http3 end to end on loopback: an aioquic HTTP/3 server and a TLS HTTP/1.1 server on the same
port number, the censor dropping QUIC (in user space, by server name, or with iptables), and
the probe from the censored source judged by analysis/http3.py."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from censorwatch.analysis import dispatch
from censorwatch.analysis.http3 import analyse
from censorwatch.lab import Lab
from censorwatch.lab.app_lab import AppCase
from censorwatch.lab.scenarios.http3 import initial_server_name
from censorwatch.probe.config import ProbeConfig, parse_host_port
from censorwatch.probe.endpoints_file import EndpointsError, load_endpoints
from censorwatch.probe.experiment import ExperimentContext
from censorwatch.probe.experiments import http3
from tests.integration.lab_probe import lab_context, runnable_case

pytestmark = pytest.mark.integration

CASES = ("http3-ok", "http3-udp-dropped", "http3-udp-iptables-drop", "http3-sni-blocked", "http3-sni-other-name",
         "http3-both-blocked", "http3-not-offered")
TIMEOUT = 1.5  # every blocked case waits out one QUIC handshake timeout


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab(tmp_path_factory.mktemp("lab"), tests={"http3"}) as running:
        yield running


def run(lab: Lab, case: AppCase, source: str | None = None) -> dict[str, Any]:
    (url,) = case.inputs
    return asyncio.run(http3.measure(url, lab_context(lab, case.section, source, TIMEOUT)))


@pytest.fixture(scope="module")
def measured(lab: Lab) -> dict[str, dict[str, Any]]:
    """Every runnable case measured at once: the blocked ones each wait out a timeout."""

    async def all_cases() -> list[dict[str, Any]]:
        cases = lab.runnable_app_cases
        return list(await asyncio.gather(
            *(http3.measure(case.inputs[0], lab_context(lab, case.section, timeout=TIMEOUT)) for case in cases)))

    return {case.name: m for case, m in zip(lab.runnable_app_cases, asyncio.run(all_cases()), strict=True)}


def test_the_lab_has_every_case(lab: Lab) -> None:
    assert {case.name for case in lab.app_cases} == set(CASES)


@pytest.mark.parametrize("name", CASES)
def test_each_case_is_judged_as_expected(lab: Lab, measured: dict[str, dict[str, Any]], name: str) -> None:
    case = runnable_case(lab, name)
    verdict = dispatch.analyse(measured[name]) if "http3" in dispatch.ANALYSERS else analyse(measured[name])
    assert (verdict.verdict, verdict.blocking) == (case.expected_verdict, case.expected_blocking), verdict.reason


@pytest.mark.parametrize("name", ["http3-udp-dropped", "http3-sni-blocked", "http3-both-blocked"])
def test_an_honest_source_gets_http3(lab: Lab, name: str) -> None:
    """The servers work: only the censored source is blocked."""
    measurement = run(lab, lab.app_case(name), source="127.0.0.1")
    assert measurement["test_keys"]["http3_failure"] is None
    assert analyse(measurement).verdict == "ok"


def test_an_ok_measurement_records_both_transports(measured: dict[str, dict[str, Any]]) -> None:
    tk = measured["http3-ok"]["test_keys"]
    assert tk["http3_failure"] is None and tk["tcp_tls_failure"] is None and tk["x_alt_svc_h3"] is True
    (handshake,) = tk["quic_handshakes"]
    assert handshake["network"] == "udp" and handshake["failure"] is None
    assert handshake["negotiated_protocol"] == "h3" and handshake["tls_version"] == "TLSv1.3"
    assert handshake["server_name"].startswith("h3-ok.") and handshake["peer_certificates"]
    by_transport = {r["request"]["x_transport"]: r for r in tk["requests"]}
    assert set(by_transport) == {"tcp", "udp"}
    assert by_transport["udp"]["alpn"] == "h3" and by_transport["udp"]["response"]["code"] == 200
    assert "Censorwatch lab site http3" in by_transport["udp"]["response"]["body"]
    assert by_transport["tcp"]["response"]["code"] == 200
    assert tk["tcp_connect"][0]["status"]["success"] and tk["tls_handshakes"][0]["failure"] is None


def test_a_dropped_quic_handshake_times_out(measured: dict[str, dict[str, Any]]) -> None:
    tk = measured["http3-udp-dropped"]["test_keys"]
    assert (tk["http3_failure"], tk["http3_failed_operation"]) == ("generic_timeout_error", "quic_handshake")
    assert tk["quic_handshakes"][0]["failure"] == "generic_timeout_error"
    assert tk["tcp_tls_failure"] is None
    assert not any(r["request"]["x_transport"] == "udp" for r in tk["requests"])


def test_quic_verifies_the_certificate(lab: Lab) -> None:
    """Without the lab CA both transports refuse the server's certificate, QUIC included."""
    case = lab.app_case("http3-ok")
    config = ProbeConfig(resolver=parse_host_port(lab.resolver, 53), source_address="127.0.0.1", timeout=TIMEOUT)
    measurement = asyncio.run(http3.measure(case.inputs[0], ExperimentContext(config, case.section, "r")))
    tk = measurement["test_keys"]
    assert (tk["http3_failure"], tk["http3_failed_operation"]) == ("ssl_unknown_authority", "quic_handshake")
    assert tk["tcp_tls_failure"] == "ssl_unknown_authority"


def test_the_censor_reads_the_server_name_of_a_real_initial() -> None:
    """initial_server_name on the Initial aioquic's client really sends (captured on a UDP socket)."""
    from aioquic.quic.configuration import QuicConfiguration
    from aioquic.quic.connection import QuicConnection

    client = QuicConnection(configuration=QuicConfiguration(is_client=True, alpn_protocols=["h3"],
                                                            server_name="h3-sni-blocked.example"))
    client.connect(("127.0.0.1", 9), now=0.0)
    datagrams = [data for data, _ in client.datagrams_to_send(now=0.0)]
    assert datagrams and initial_server_name(datagrams[0]) == "h3-sni-blocked.example"
    assert initial_server_name(b"\x00" * 1200) is None
    assert initial_server_name(datagrams[0][:40]) is None


def test_the_shipped_section_has_default_urls() -> None:
    urls = http3.inputs(load_endpoints().section("http3"))
    assert urls and all(str(url).startswith("https://") for url in urls)


@pytest.mark.parametrize(
    ("section", "key"),
    [({"urls": ["http://x/"]}, "urls"), ({"urls": "https://x/"}, "urls"), ({"alpn": []}, "alpn"),
     ({"udp_port": 70000}, "udp_port"), ({"udp_port": True}, "udp_port")],
)
def test_a_bad_section_names_the_key(section: dict[str, Any], key: str) -> None:
    with pytest.raises(EndpointsError, match=key):
        http3.inputs(section)


def test_an_unreachable_address_family_does_not_hide_a_blocked_one() -> None:
    from censorwatch.probe.experiments._quic import QuicResult

    blocked = QuicResult({}, failure="generic_timeout_error", failed_operation="quic_handshake")
    v6 = QuicResult({}, failure="network_unreachable", failed_operation="quic_handshake")
    worked = QuicResult({}, request={"response": {"code": 200}})
    assert http3._telling([v6, blocked]) is blocked
    assert http3._telling([blocked, worked]) is worked
    assert http3._telling([v6]) is v6
