"""The openvpn test (ts-040) end to end on loopback: the probe, from the censored source, runs
Debian's openvpn client against the lab's real OpenVPN servers (Debian's binary, certificates
from the lab CA), through a censor that drops UDP or resets TCP by source address; judged by
the analysis written for OONI's own openvpn measurements."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from censorwatch.analysis import dispatch
from censorwatch.lab import Lab
from censorwatch.lab.app_lab import AppCase
from censorwatch.lab.pki import make_authority
from censorwatch.lab.scenarios import openvpn as scenario
from censorwatch.probe.endpoints_file import EndpointsError, load_endpoints
from censorwatch.probe.experiments import openvpn
from censorwatch.probe.experiments._openvpn_process import openvpn_binary
from tests.integration.lab_probe import lab_context, labless_context, runnable_case

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(openvpn_binary() is None, reason="needs Debian's openvpn"),
]

CASES = ("openvpn-udp-ok", "openvpn-udp-dropped", "openvpn-udp-firewalled", "openvpn-tcp-ok", "openvpn-tcp-reset")
HONEST_SOURCE = "127.0.0.1"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab(tmp_path_factory.mktemp("lab"), tests={"openvpn"}) as running:
        yield running


def run(lab: Lab, case: AppCase, source: str | None = None) -> dict[str, Any]:
    (input,) = openvpn.inputs(case.section)
    return asyncio.run(openvpn.measure(input, lab_context(lab, case.section, source)))


def clients() -> list[int]:
    """Our openvpn client processes (the lab's servers are our children too: told apart by config)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if command and command[0].endswith(b"openvpn") and any(part.endswith(b"client.conf") for part in command):
            found.append(int(entry.name))
    return found


def endpoint_of(case: AppCase, **changes: Any) -> dict[str, Any]:
    return {**case.section, "endpoints": [{**case.section["endpoints"][0], **changes}]}


def test_the_lab_has_every_case(lab: Lab) -> None:
    assert {case.name for case in lab.app_cases if case.test_name == "openvpn"} == set(CASES)


@pytest.mark.parametrize("name", CASES)
def test_each_case_is_judged_as_expected(lab: Lab, name: str) -> None:
    case = runnable_case(lab, name)
    measurement = run(lab, case)
    verdict = dispatch.analyse(measurement)
    assert (verdict.verdict, verdict.blocking) == (case.expected_verdict, case.expected_blocking), verdict.reason
    assert measurement["test_runtime"] < openvpn.deadline(labless_context(case.section, lab.censored_source))
    assert clients() == []


@pytest.mark.parametrize("name", ["openvpn-udp-dropped", "openvpn-tcp-reset"])
def test_an_honest_source_gets_through_what_the_censor_blocks(lab: Lab, name: str) -> None:
    """The relays forward everyone else to a working server: the failures are the censor's, and
    the client really leaves from the source address it is given."""
    verdict = dispatch.analyse(run(lab, lab.app_case(name), source=HONEST_SOURCE))
    assert verdict.verdict == "ok", verdict.reason


def test_a_tcp_handshake_has_probe_cli_shape(lab: Lab) -> None:
    case = lab.app_case("openvpn-tcp-ok")
    measurement = run(lab, case)
    tk = measurement["test_keys"]
    host, port = case.section["endpoints"][0]["address"].split(":")
    assert (measurement["test_name"], measurement["test_version"]) == ("openvpn", "0.1.4")
    assert measurement["input"] == f"openvpn://unknown-lab.corp/?address={host}:{port}&transport=tcp"
    assert measurement["annotations"]["openvpn_version"].startswith("2.")
    assert (tk["success"], tk["failure"], tk["tunnel"]) == (True, None, "openvpn")
    (tcp,) = tk["tcp_connect"]
    assert (tcp["ip"], tcp["port"], tcp["status"]) == (host, int(port), {"failure": None, "success": True})
    assert 0 <= tcp["t0"] <= tcp["t"]
    (handshake,) = tk["openvpn_handshake"]
    assert handshake["endpoint"] == f"openvpn://{host}:{port}/tcp"
    assert (handshake["transport"], handshake["provider"], handshake["failure"]) == ("tcp", "unknown-lab", None)
    assert handshake["openvpn_options"] == {"auth": "SHA512", "cipher": "AES-256-GCM"}
    assert tcp["t"] <= handshake["t0"] <= handshake["t"] == tk["bootstrap_time"]
    assert handshake["handshake_time"] == pytest.approx(handshake["t"] - handshake["t0"], abs=1e-5)
    # the server answered the hard reset (START) and the control channel came up (ACTIVE)
    assert [event["stage"] for event in tk["network_events"]] == ["PRE_START", "START", "ACTIVE"]


@pytest.mark.parametrize("name", ["openvpn-udp-ok", "openvpn-tcp-ok"])
def test_a_server_answers_run_after_run(lab: Lab, name: str) -> None:
    """Back to back, as a user re-running the probe would: the point-to-point servers take the next client."""
    case = lab.app_case(name)
    assert [run(lab, case)["test_keys"]["success"] for _ in range(2)] == [True, True]


def test_a_dropped_udp_handshake_records_where_it_stalled(lab: Lab) -> None:
    tk = run(lab, lab.app_case("openvpn-udp-dropped"))["test_keys"]
    assert (tk["success"], tk["failure"]) == (False, "generic_timeout_error")
    assert "tcp_connect" not in tk and "bootstrap_time" not in tk
    assert [event["stage"] for event in tk["network_events"]] == ["PRE_START"]  # the reset was never answered
    assert tk["openvpn_handshake"][0]["failure"] == "generic_timeout_error"


def test_a_tcp_reset_is_recorded_after_a_successful_connect(lab: Lab) -> None:
    tk = run(lab, lab.app_case("openvpn-tcp-reset"))["test_keys"]
    assert tk["failure"] == "connection_reset"
    assert tk["tcp_connect"][0]["status"] == {"failure": None, "success": True}


def test_the_handshake_is_real_a_server_from_another_ca_fails_tls(lab: Lab) -> None:
    """The client checks the server: with a CA that did not sign it, TLS fails and nothing is 'ok'."""
    case = lab.app_case("openvpn-udp-ok")
    other = make_authority("not the lab's OpenVPN CA").pem().decode()
    measurement = asyncio.run(openvpn.measure(None, lab_context(lab, endpoint_of(case, ca=other))))
    tk = measurement["test_keys"]
    assert (tk["success"], tk["failure"]) == (False, "ssl_unknown_authority")
    assert "START" in [event["stage"] for event in tk["network_events"]]  # the server did answer
    assert dispatch.analyse(measurement).verdict == "anomaly"
    assert clients() == []


def test_a_wrong_tls_auth_key_gets_no_answer(lab: Lab) -> None:
    """tls-auth is really used: the server ignores packets signed with another key."""
    case = lab.app_case("openvpn-udp-ok")
    section = {**endpoint_of(case, tls_auth=scenario.credentials(make_authority("x")).static_key), "timeout": 1}
    tk = asyncio.run(openvpn.measure(None, lab_context(lab, section)))["test_keys"]
    assert (tk["success"], tk["failure"]) == (False, "generic_timeout_error")


def test_a_closed_udp_port_is_refused_at_once(lab: Lab) -> None:
    case = lab.app_case("openvpn-udp-ok")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    started = time.monotonic()
    section = endpoint_of(case, address=f"127.0.0.1:{closed}")
    tk = asyncio.run(openvpn.measure(None, labless_context(section, lab.censored_source)))["test_keys"]
    assert tk["failure"] == "connection_refused"
    assert time.monotonic() - started < 2.0  # ICMP port unreachable ends it; no wait for the timeout


def test_a_closed_tcp_port_fails_the_tcp_connect(lab: Lab) -> None:
    case = lab.app_case("openvpn-tcp-ok")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    section = endpoint_of(case, address=f"127.0.0.1:{closed}")
    measurement = asyncio.run(openvpn.measure(None, labless_context(section, lab.censored_source)))
    tk = measurement["test_keys"]
    assert tk["tcp_connect"][0]["status"] == {"failure": "connection_refused", "success": False}
    assert tk["network_events"] == []
    verdict = dispatch.analyse(measurement)
    assert (verdict.verdict, verdict.blocking) == ("anomaly", "tcp_ip")


def test_cancelling_a_handshake_leaves_no_openvpn_running(lab: Lab) -> None:
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # takes datagrams, never answers
    silent.bind(("127.0.0.1", 0))
    try:
        case = lab.app_case("openvpn-udp-ok")
        section = {**endpoint_of(case, address=f"127.0.0.1:{silent.getsockname()[1]}"), "timeout": 60}

        async def cancel_midway() -> list[int]:
            task = asyncio.create_task(openvpn.measure(None, labless_context(section, lab.censored_source)))
            for _ in range(100):
                await asyncio.sleep(0.05)
                if clients():
                    break
            running = clients()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return running

        assert asyncio.run(cancel_midway()), "openvpn never started"
        assert clients() == []
    finally:
        silent.close()


def test_openvpn_rejecting_the_configuration_is_an_endpoints_error(lab: Lab) -> None:
    section = endpoint_of(lab.app_case("openvpn-udp-ok"), cipher="NOT-A-CIPHER")
    with pytest.raises(EndpointsError, match="NOT-A-CIPHER"):
        asyncio.run(openvpn.measure(None, labless_context(section, lab.censored_source)))
    assert clients() == []


def test_a_key_that_is_not_the_certificates_is_an_endpoints_error(lab: Lab) -> None:
    """Both PEMs parse, so only OpenVPN itself finds out: a configuration error, never a blocked server."""
    other_key = scenario.credentials(make_authority("other")).client_key
    section = endpoint_of(lab.app_case("openvpn-udp-ok"), key=other_key)
    with pytest.raises(EndpointsError, match="stopped before connecting"):
        asyncio.run(openvpn.measure(None, labless_context(section, lab.censored_source)))
    assert clients() == []


def test_the_shipped_section_asks_for_the_users_own_endpoint() -> None:
    with pytest.raises(EndpointsError, match="--endpoints FILE"):
        openvpn.inputs(load_endpoints().section("openvpn"))


def test_pem_values_may_be_file_paths(lab: Lab, tmp_path: Path) -> None:
    case = lab.app_case("openvpn-udp-ok")
    endpoint = case.section["endpoints"][0]
    paths = {}
    for name in ("ca", "cert", "key", "tls_auth"):
        paths[name] = str(tmp_path / f"{name}.pem")
        Path(paths[name]).write_text(endpoint[name])
    (parsed,) = openvpn.parse_endpoints(endpoint_of(case, **paths))
    (inline,) = openvpn.parse_endpoints(case.section)
    assert parsed == inline


@pytest.mark.parametrize(("changes", "names"), [
    ({"address": "vpn.example.org:1194"}, "endpoints[0].address"),
    ({"address": "192.0.2.1"}, "endpoints[0].address"),
    ({"transport": "quic"}, "endpoints[0].transport"),
    ({"protocol": "openvpn+obfs4"}, "endpoints[0].protocol"),
    ({"ca": "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----"}, "endpoints[0].ca"),
    ({"key": "/nonexistent/client.key"}, "endpoints[0].key"),
    ({"cert": None}, "endpoints[0].cert"),
    ({"cipher": "AES-256-GCM\nup /bin/sh"}, "endpoints[0].cipher"),
    ({"tls_auth": "-----BEGIN CERTIFICATE-----"}, "endpoints[0].tls_auth"),
    ({"username": "me"}, "unknown key 'username'"),
])
def test_a_bad_endpoint_names_its_key(lab: Lab, changes: dict[str, Any], names: str) -> None:
    with pytest.raises(EndpointsError, match=names.replace("[", r"\[").replace("]", r"\]")):
        openvpn.parse_endpoints(endpoint_of(lab.app_case("openvpn-udp-ok"), **changes))


@pytest.mark.parametrize("section", [{"endpoints": "x"}, {"timeout": 0, "endpoints": []}, {"endpoints": [3]}])
def test_a_bad_section_is_refused(section: dict[str, Any]) -> None:
    with pytest.raises(EndpointsError, match="openvpn"):
        openvpn.parse_endpoints(section)
