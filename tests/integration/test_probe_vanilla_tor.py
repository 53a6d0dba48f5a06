"""vanilla_tor (ts-016) end to end on loopback: Debian's tor, started by the probe with a fresh
DataDirectory and the lab's directory authority in place of the real ones, fails to bootstrap
when the censor resets or drops the censored source's connections to it; judged by the analysis
written for OONI's own vanilla_tor measurements. Each blocked case waits out its bootstrap
timeout (6 s): that wait is what the test measures."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from censorwatch.analysis import dispatch
from censorwatch.lab import Lab
from censorwatch.lab.app_lab import AppCase
from censorwatch.probe.config import ProbeConfig, parse_host_port
from censorwatch.probe.endpoints_file import EndpointsError, load_endpoints
from censorwatch.probe.experiment import ExperimentContext
from censorwatch.probe.experiments import vanilla_tor

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("tor") is None, reason="needs Debian's tor"),
]

CASES = ("vanilla-tor-authority-reset", "vanilla-tor-authority-dropped")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab(tmp_path_factory.mktemp("lab"), tests={"vanilla_tor"}) as running:
        yield running


def context(section: dict[str, Any], source: str | None = "127.0.0.2") -> ExperimentContext:
    config = ProbeConfig(source_address=source, timeout=2.0, probe_cc="RU")
    return ExperimentContext(config=config, section=section, report_id="test-report")


def lab_context(lab: Lab, section: dict[str, Any]) -> ExperimentContext:
    config = ProbeConfig(resolver=parse_host_port(lab.resolver, 53), ca_file=lab.ca_file,
                         source_address=lab.censored_source, timeout=2.0, probe_cc="RU")
    return ExperimentContext(config=config, section=section, report_id="test-report")


def tor_children() -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        if ppid == os.getpid() and comm == "tor":
            found.append(int(entry.name))
    return found


@pytest.fixture(scope="module")
def measured(lab: Lab) -> dict[str, dict[str, Any]]:
    """Each runnable case measured once (every run waits out its bootstrap timeout)."""
    results = {}
    for name in CASES:
        case = lab.app_case(name)
        if case in lab.runnable_app_cases:
            assert vanilla_tor.inputs(case.section) == [None]
            results[name] = asyncio.run(vanilla_tor.measure(None, lab_context(lab, case.section)))
    return results


def test_the_lab_has_every_case(lab: Lab) -> None:
    assert {case.name for case in lab.app_cases if case.test_name == "vanilla_tor"} == set(CASES)


@pytest.mark.parametrize("name", CASES)
def test_each_case_is_judged_as_expected(lab: Lab, measured: dict[str, dict[str, Any]], name: str) -> None:
    case: AppCase = lab.app_case(name)
    if name not in measured:
        pytest.skip("needs iptables (root)")
    verdict = dispatch.analyse(measured[name])
    assert (verdict.verdict, verdict.blocking) == (case.expected_verdict, case.expected_blocking), verdict.reason
    assert tor_children() == []


def test_a_stalled_bootstrap_has_probe_cli_shape(measured: dict[str, dict[str, Any]]) -> None:
    measurement = measured["vanilla-tor-authority-reset"]
    tk = measurement["test_keys"]
    assert (measurement["test_name"], measurement["test_version"]) == ("vanilla_tor", "0.3.0")
    assert tk["success"] is False and tk["error"] == "timeout-reached"
    assert tk["failure"] == "generic_timeout_error" and tk["bootstrap_time"] == 0
    assert tk["timeout"] == 6 and tk["transport_name"] == "vanilla"
    assert tk["tor_logs"][0].endswith("[notice] Bootstrapped 0% (starting): Starting")
    assert all(" [notice] Bootstrapped " in line for line in tk["tor_logs"])
    # the relay accepted the connection before the censor's RST: tor got past connecting
    assert tk["tor_progress"] == 10 and tk["tor_progress_tag"] == "conn_done"
    assert tk["tor_progress_summary"] == "Connected to a relay"
    assert tk["tor_version"].count(".") == 3
    assert 6 <= measurement["test_runtime"] < 9


def test_a_tor_that_cannot_start_is_a_failure_not_an_anomaly() -> None:
    """A broken config makes tor exit at once: no bootstrap logs, which OONI's fastpath treats as a
    broken measurement."""
    measurement = asyncio.run(vanilla_tor.measure(None, context({"timeout": 10, "torrc": ["NoSuchOption 1"]})))
    tk = measurement["test_keys"]
    assert tk["error"] == "unknown-error" and tk["failure"].startswith("unknown_failure: tor exited")
    assert tk["tor_logs"] == [] and measurement["test_runtime"] < 5
    assert dispatch.analyse(measurement).verdict == "failure"


def test_a_missing_tor_binary_is_a_failure() -> None:
    measurement = asyncio.run(vanilla_tor.measure(None, context({"tor": "/nonexistent/tor"})))
    assert measurement["test_keys"]["failure"].startswith("unknown_failure: cannot start")
    assert dispatch.analyse(measurement).verdict == "failure"


def test_cancelling_a_bootstrap_leaves_no_tor_running(lab: Lab) -> None:
    section = lab.app_case("vanilla-tor-authority-reset").section | {"timeout": 60}

    async def cancel_midway() -> list[int]:
        task = asyncio.create_task(vanilla_tor.measure(None, lab_context(lab, section)))
        for _ in range(100):
            await asyncio.sleep(0.05)
            if tor_children():
                break
        running = tor_children()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return running

    assert asyncio.run(cancel_midway()), "tor never started"
    assert tor_children() == []


@pytest.mark.parametrize(("section", "names"), [
    ({"timeout": -1}, "timeout"),
    ({"torrc": "UseBridges 1"}, "torrc"),
    ({"torrc": ["DataDirectory /tmp/x"]}, "DataDirectory"),
    ({"tor": ""}, "`tor`"),
])
def test_a_bad_section_names_its_key(section: dict[str, Any], names: str) -> None:
    with pytest.raises(EndpointsError, match=names):
        vanilla_tor.parse_section(section)


def test_the_shipped_section_runs_tor_with_its_defaults() -> None:
    parsed = vanilla_tor.parse_section(load_endpoints().section("vanilla_tor"))
    assert parsed.torrc == () and parsed.timeout == 200 and parsed.tor == "tor"
