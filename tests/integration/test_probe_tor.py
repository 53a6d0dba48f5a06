"""The tor test (ts-023) end to end on loopback: the probe, from the censored source, against the
lab's directory authority (TLS OR port, HTTP dir port), relay and a real obfs4 bridge (Debian's
obfs4proxy in server mode), with Debian's obfs4proxy as the client; judged by the analysis written
for OONI's own tor measurements."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from censorwatch.analysis import dispatch
from censorwatch.lab import Lab
from censorwatch.lab.app_lab import AppCase
from censorwatch.probe.config import ProbeConfig
from censorwatch.probe.endpoints_file import EndpointsError, load_endpoints
from censorwatch.probe.experiment import ExperimentContext
from censorwatch.probe.experiments import tor
from tests.integration.lab_probe import child_processes, lab_context, runnable_case

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("obfs4proxy") is None, reason="needs Debian's obfs4proxy"),
]

CASES = ("tor-reachable", "tor-bridge-reset", "tor-one-of-three-failed", "tor-bridge-dropped",
         "tor-or-port-reset", "tor-or-port-rejected")
CHILDREN = ("obfs4proxy", "tor")  # the probe's processes (and the lab bridge's obfs4proxy)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab(tmp_path_factory.mktemp("lab"), tests={"tor"}) as running:
        yield running


def run(lab: Lab, case: AppCase, source: str | None = None) -> dict[str, Any]:
    assert tor.inputs(case.section) == [None]
    return asyncio.run(tor.measure(None, lab_context(lab, case.section, source)))


@pytest.fixture(scope="module")
def lab_processes(lab: Lab) -> set[int]:
    """The lab's own obfs4proxy (the bridge) is our child too; the probe's must come and go."""
    return set(child_processes(CHILDREN))


def test_the_lab_has_every_case(lab: Lab) -> None:
    assert {case.name for case in lab.app_cases if case.test_name == "tor"} == set(CASES)


@pytest.mark.parametrize("name", CASES)
def test_each_case_is_judged_as_expected(lab: Lab, lab_processes: set[int], name: str) -> None:
    case = runnable_case(lab, name)
    verdict = dispatch.analyse(run(lab, case))
    assert (verdict.verdict, verdict.blocking) == (case.expected_verdict, case.expected_blocking), verdict.reason
    assert set(child_processes(CHILDREN)) == lab_processes


@pytest.mark.parametrize("name", ["tor-bridge-reset", "tor-or-port-reset"])
def test_an_honest_source_reaches_what_the_censor_blocks(lab: Lab, name: str) -> None:
    """The bridge and the OR port work: the failures are the censor's."""
    verdict = dispatch.analyse(run(lab, lab.app_case(name), source="127.0.0.1"))
    assert verdict.verdict == "ok", verdict.reason


def test_reachable_targets_have_probe_cli_shape(lab: Lab) -> None:
    case = lab.app_case("tor-reachable")
    measurement = run(lab, case)
    tk = measurement["test_keys"]
    assert (measurement["test_name"], measurement["test_version"], measurement["input"]) == ("tor", "0.4.0", None)
    assert {k: v for k, v in tk.items() if k != "targets"} == {
        "dir_port_total": 1, "dir_port_accessible": 1, "obfs4_total": 1, "obfs4_accessible": 1,
        "or_port_dirauth_total": 1, "or_port_dirauth_accessible": 1, "or_port_total": 1, "or_port_accessible": 1}
    (bridge_line,) = case.section["bridges"]
    bridge = tk["targets"][hashlib.sha256(bridge_line.encode()).hexdigest()]
    assert bridge["target_protocol"] == "obfs4" and bridge["failure"] is None
    assert bridge["summary"] == {"connect": {"failure": None}, "handshake": {"failure": None}}
    operations = [event["operation"] for event in bridge["network_events"]]
    # the obfs4 client hello went out and the server's answer came back through the relay
    assert operations[0] == "connect" and "write" in operations and "read" in operations
    assert bridge["tcp_connect"][0]["status"] == {"failure": None, "success": True}
    authority = case.section["authorities"][0]
    or_target = tk["targets"][f"{authority['address']}:{authority['or_port']}"]
    assert or_target["target_name"] == "labauth" and or_target["target_protocol"] == "or_port_dirauth"
    (handshake,) = or_target["tls_handshakes"]
    assert handshake["failure"] is None and handshake["tls_version"].startswith("TLS")
    assert handshake["no_tls_verify"] is True and handshake["peer_certificates"]
    dir_target = tk["targets"][f"{authority['address']}:{authority['dir_port']}"]
    (request,) = dir_target["requests"]
    assert request["request"]["url"].endswith("/tor/status-vote/current/consensus.z")
    assert request["response"]["code"] == 200 and request["response"]["body_is_truncated"] is True
    assert request["response"]["body"].startswith("network-status-version 3")


def test_a_reset_bridge_records_where_it_broke(lab: Lab) -> None:
    target = next(iter(run(lab, lab.app_case("tor-bridge-reset"))["test_keys"]["targets"].values()))
    assert target["failure"] == "connection_reset"
    assert target["summary"] == {"connect": {"failure": None}, "handshake": {"failure": "connection_reset"}}


def test_a_wrong_cert_fails_the_obfs4_handshake(lab: Lab) -> None:
    """The handshake is real: the right address with another bridge's cert gets no answer from the server."""
    case = lab.app_case("tor-reachable")
    words = case.section["bridges"][0].split()
    forged = " ".join([*words[:3], "cert=" + "A" * 70, "iat-mode=0"])
    measurement = run(lab, AppCase("forged", "tor", {"timeout": 2, "bridges": [forged]}, "", None, False, ""))
    target = next(iter(measurement["test_keys"]["targets"].values()))
    assert target["failure"] is not None
    assert target["summary"]["connect"] == {"failure": None}
    assert dispatch.analyse(measurement).verdict == "anomaly"


def test_cancelling_a_run_leaves_no_obfs4proxy_running(lab_processes: set[int]) -> None:
    silent = socket.create_server(("127.0.0.1", 0))  # completes TCP handshakes, never answers
    try:
        port = silent.getsockname()[1]
        line = f"obfs4 127.0.0.1:{port} {'0' * 40} cert={'A' * 70} iat-mode=0"
        ctx = ExperimentContext(config=ProbeConfig(timeout=5.0), section={"timeout": 30, "bridges": [line]},
                                report_id="test-report")

        async def cancel_midway() -> list[int]:
            task = asyncio.create_task(tor.measure(None, ctx))
            for _ in range(100):
                await asyncio.sleep(0.05)
                if set(child_processes(CHILDREN)) - lab_processes:
                    break
            running = sorted(set(child_processes(CHILDREN)) - lab_processes)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return running

        assert asyncio.run(cancel_midway()), "obfs4proxy never started"
        assert set(child_processes(CHILDREN)) == lab_processes
    finally:
        silent.close()


def test_a_missing_obfs4proxy_is_a_failed_target_not_a_crash(lab: Lab) -> None:
    case = lab.app_case("tor-reachable")
    section = {**case.section, "obfs4proxy": "/nonexistent/obfs4proxy"}
    measurement = run(lab, AppCase("no-binary", "tor", section, "", None, False, ""))
    bridge = hashlib.sha256(case.section["bridges"][0].encode()).hexdigest()
    assert measurement["test_keys"]["targets"][bridge]["failure"].startswith("unknown_failure: obfs4proxy")
    assert measurement["test_keys"]["or_port_accessible"] == 1


@pytest.mark.parametrize(("section", "names"), [
    ({}, "no target"),
    ({"bridges": ["meek_lite 192.0.2.20:80 url=https://example.org"]}, "bridges[0]"),
    ({"bridges": ["obfs4 192.0.2.1:443 " + "A" * 40]}, "cert="),
    ({"relays": ["192.0.2.1"]}, "relays[0]"),
    ({"authorities": [{"name": "x", "address": "192.0.2.1", "or_port": "443"}]}, "authorities[0].or_port"),
    ({"relays": ["192.0.2.1:9001"], "timeout": 0}, "timeout"),
    ({"relays": ["192.0.2.1:9001", "192.0.2.1:9001"]}, "listed twice"),
])
def test_a_bad_section_names_its_key(section: dict[str, Any], names: str) -> None:
    with pytest.raises(EndpointsError, match=names.replace("[", r"\[").replace("]", r"\]")):
        tor.parse_section(section)


def test_the_shipped_targets_are_tors_authorities_and_tor_browsers_bridges() -> None:
    parsed = tor.parse_section(load_endpoints().section("tor"))
    by_protocol: dict[str, list[tor.Target]] = {}
    for target in parsed.targets:
        by_protocol.setdefault(target.protocol, []).append(target)
    assert len(by_protocol["or_port_dirauth"]) == 10 and len(by_protocol["dir_port"]) == 10
    assert len(by_protocol["obfs4"]) == 11
    assert "128.31.0.39:9201" in {t.key for t in by_protocol["or_port_dirauth"]}  # moria1
    assert all(len(t.key) == 64 and t.params["cert"] for t in by_protocol["obfs4"])
