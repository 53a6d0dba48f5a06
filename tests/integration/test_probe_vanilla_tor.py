"""vanilla_tor (ts-016) end to end on loopback: Debian's tor, started by the probe with a fresh
DataDirectory and the lab's directory authority in place of the real ones, fails to bootstrap
when the censor resets or drops the censored source's connections to it, and bootstraps to 100%
through the lab's private Tor network; judged by the analysis written for OONI's own vanilla_tor
measurements. Each blocked case waits out its bootstrap timeout (6 s), and the reachable one the
network's first consensus: those waits are what the test measures."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from censorwatch.analysis import dispatch
from censorwatch.lab import Lab
from censorwatch.lab.tor_network import PrivateTorNetwork, TorNetworkError
from censorwatch.probe.endpoints_file import EndpointsError, load_endpoints
from censorwatch.probe.experiment import ExperimentContext
from censorwatch.probe.experiments import vanilla_tor
from tests.integration.lab_probe import child_processes, lab_context, labless_context, runnable_case

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("tor") is None, reason="needs Debian's tor"),
]

CASES = ("vanilla-tor-authority-reset", "vanilla-tor-authority-dropped", "vanilla-tor-private-network")
TOR = ("tor",)  # the probe's tor, and the lab's private network (see `probe_tors`)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab(tmp_path_factory.mktemp("lab"), tests={"vanilla_tor"}) as running:
        yield running


def context(section: dict[str, Any]) -> ExperimentContext:
    return labless_context(section, "127.0.0.2")


@pytest.fixture(scope="module")
def lab_tors(lab: Lab) -> set[int]:
    """The lab's private network runs in this process's lab thread: its tors are our children too."""
    return set(child_processes(TOR))


def probe_tors(lab_tors: set[int]) -> list[int]:
    return sorted(set(child_processes(TOR)) - lab_tors)


@pytest.fixture(scope="module")
def measured(lab: Lab, lab_tors: set[int]) -> dict[str, dict[str, Any]]:
    """Each runnable case measured once: the blocked ones wait out their bootstrap timeout (6 s each),
    the private network's waits for its consensus and circuit (2-13 s after those). Slow on purpose:
    14-26 s in all on a loaded 2-core machine, billed to the first test that uses it."""
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
def test_each_case_is_judged_as_expected(lab: Lab, measured: dict[str, dict[str, Any]], lab_tors: set[int],
                                         name: str) -> None:
    case = runnable_case(lab, name)
    verdict = dispatch.analyse(measured[name])
    assert (verdict.verdict, verdict.blocking) == (case.expected_verdict, case.expected_blocking), verdict.reason
    assert probe_tors(lab_tors) == []


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


def test_cancelling_a_bootstrap_leaves_no_tor_running(lab: Lab, lab_tors: set[int]) -> None:
    section = lab.app_case("vanilla-tor-authority-reset").section | {"timeout": 60}

    async def cancel_midway() -> list[int]:
        task = asyncio.create_task(vanilla_tor.measure(None, lab_context(lab, section)))
        for _ in range(100):
            await asyncio.sleep(0.05)
            if probe_tors(lab_tors):
                break
        running = probe_tors(lab_tors)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return running

    assert asyncio.run(cancel_midway()), "tor never started"
    assert probe_tors(lab_tors) == []


def network_logs(lab: Lab) -> str:
    """The tail of each network node's log, for a failure message."""
    tails = []
    for log in sorted((lab.workdir / "tor-network").glob("*/notice.log")):
        tails.append(f"--- {log.parent.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:]))
    return "\n".join(tails)


def test_the_private_network_bootstraps_to_100_percent(lab: Lab, measured: dict[str, dict[str, Any]]) -> None:
    measurement = measured["vanilla-tor-private-network"]
    tk = measurement["test_keys"]
    assert tk["success"] is True, "\n".join(tk["tor_logs"][-3:]) + "\n" + network_logs(lab)
    assert tk["error"] is None and tk["failure"] is None
    assert (tk["tor_progress"], tk["tor_progress_tag"], tk["tor_progress_summary"]) == (100, "done", "Done")
    assert tk["tor_logs"][-1].endswith("[notice] Bootstrapped 100% (done): Done")
    # it got the consensus and the relays' descriptors from the network, then built a circuit
    tags = [line.split("(")[1].split(")")[0] for line in tk["tor_logs"]]
    assert {"loading_status", "loading_descriptors", "enough_dirinfo", "circuit_create"} <= set(tags)
    assert 0 < tk["bootstrap_time"] < tk["timeout"] == 120
    assert dispatch.analyse(measurement).verdict == "ok"


def test_the_private_network_case_gives_a_client_torrc_vanilla_tor_accepts(lab: Lab) -> None:
    section = lab.app_case("vanilla-tor-private-network").section
    parsed = vanilla_tor.parse_section(section)
    assert parsed.torrc[:2] == ("TestingTorNetwork 1", "VanguardsLiteEnabled 0")
    assert [line.split()[:2] for line in parsed.torrc[2:]] == [["DirAuthority", "labauth"]]


def test_no_tor_is_left_after_the_lab_stops(tmp_path: Path) -> None:
    """A lab of its own (the module's one lives on): its network's tors run while it does, and are
    gone, reaped, once it stops."""
    before = set(child_processes(TOR))
    # no iptables: its chain is named after our pid, and the module's lab holds it
    with Lab(tmp_path, tests={"vanilla_tor"}, use_iptables=False) as running:
        assert running.app_case("vanilla-tor-private-network")
        network = set(child_processes(TOR)) - before
        assert len(network) == 3
    assert not network & set(child_processes(TOR))
    assert not any(Path(f"/proc/{pid}").exists() for pid in network)


def test_a_network_that_cannot_start_leaves_nothing_running(tmp_path: Path) -> None:
    network = PrivateTorNetwork(["127.0.9.1", "127.0.9.2", "127.0.9.3"], tmp_path, tor_gencert="/nonexistent")
    before = set(child_processes(TOR))
    with pytest.raises(TorNetworkError, match="cannot start /nonexistent"):
        asyncio.run(network.start())
    assert set(child_processes(TOR)) <= before and network.pids == []


def test_ready_waits_for_a_consensus_with_every_relay(tmp_path: Path) -> None:
    """Right after start there is no consensus yet: ready() with a short timeout says so and quotes
    the authority's log; a longer wait sees all three relays Running; close() stops the three tors.
    Slow on purpose (10-20 s): the first voting rounds are the wait."""
    network = PrivateTorNetwork(["127.0.9.1", "127.0.9.2", "127.0.9.3"], tmp_path)
    before = set(child_processes(TOR))

    async def start_then_wait() -> tuple[list[int], float]:
        await network.start()
        pids: list[int] = network.pids
        try:
            with pytest.raises(TorNetworkError, match=r"no consensus with all 3 relays after 0\.5 s: .*\[notice\]"):
                await network.ready(0.5)
            started = time.monotonic()
            await network.ready(60)
            return pids, time.monotonic() - started
        finally:
            await network.close()

    pids, waited = asyncio.run(start_then_wait())
    assert len(pids) == 3 and not set(pids) & set(child_processes(TOR)) and set(child_processes(TOR)) <= before
    assert waited > 1  # the first consensus takes voting rounds: ready() did not return at once
    assert "Published microdesc consensus" in (tmp_path / "labauth" / "notice.log").read_text()


def test_a_network_needs_three_distinct_relays() -> None:
    with pytest.raises(ValueError, match="at least 3 distinct"):
        PrivateTorNetwork(["127.0.9.1", "127.0.9.2", "127.0.9.1"])


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
