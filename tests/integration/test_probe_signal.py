"""The signal probe test against the lab's Signal cases (lab/scenarios/signal.py): the real
experiment on real loopback sockets from the censored source, judged by analysis/signal.py."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from censorwatch.analysis.dispatch import analyse
from censorwatch.lab import Lab
from censorwatch.probe.endpoints_file import load_endpoints
from censorwatch.probe.experiments import signal
from tests.integration.lab_probe import lab_context, runnable_case

pytestmark = pytest.mark.integration

HONEST = "127.0.0.3"  # any source but the censored one
TIMEOUT = 2.0
# case -> the failure the probe must record (signal_backend_failure)
FAILURES: dict[str, str | None] = {
    "signal-reachable": None,
    "signal-dns-nxdomain": "dns_nxdomain_error",
    "signal-dns-forged": "ssl_unknown_authority",
    "signal-sni-reset": "connection_reset",
    "signal-ip-blackhole": "generic_timeout_error",
    "signal-ip-iptables-drop": "generic_timeout_error",
}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab(tmp_path_factory.mktemp("lab-signal"), tests={"signal"}) as running:
        yield running


def run(lab: Lab, section: dict[str, Any], source: str) -> dict[str, Any]:
    return asyncio.run(signal.measure(None, lab_context(lab, section, source, TIMEOUT)))


def test_the_lab_has_the_signal_cases(lab: Lab) -> None:
    assert {case.name for case in lab.app_cases if case.test_name == "signal"} == set(FAILURES)


@pytest.mark.parametrize("name", sorted(FAILURES))
def test_each_case_is_judged_as_the_lab_expects(lab: Lab, name: str) -> None:
    case = runnable_case(lab, name)
    measurement = run(lab, case.section, lab.censored_source)
    tk = measurement["test_keys"]
    assert measurement["test_name"] == "signal" and measurement["test_version"] == signal.TEST_VERSION
    assert tk["signal_backend_failure"] == FAILURES[name]
    assert tk["signal_backend_status"] == ("ok" if FAILURES[name] is None else "blocked")
    assert len(tk["requests"]) == len(case.section["endpoints"])
    assert any(q["hostname"] == case.section["dns_lookups"][0] for q in tk["queries"])  # the uptime lookup
    verdict = analyse(measurement)
    assert (verdict.verdict, verdict.blocking) == (case.expected_verdict, case.expected_blocking), verdict.reason


def test_a_reachable_run_records_each_step(lab: Lab) -> None:
    tk = run(lab, lab.app_case("signal-reachable").section, lab.censored_source)["test_keys"]
    assert [r["response"]["code"] for r in tk["requests"]] == [200] * 4
    assert all(c["status"]["success"] for c in tk["tcp_connect"]) and len(tk["tcp_connect"]) == 4
    assert all(h["failure"] is None and h["peer_certificates"] for h in tk["tls_handshakes"])


@pytest.mark.parametrize("name", ["signal-dns-nxdomain", "signal-dns-forged", "signal-sni-reset",
                                  "signal-ip-iptables-drop"])
def test_the_blocking_is_the_censored_sources_alone(lab: Lab, name: str) -> None:
    case = runnable_case(lab, name)
    verdict = analyse(run(lab, case.section, HONEST))
    assert verdict.verdict == "ok", verdict.reason


def test_only_the_sections_ca_is_trusted(lab: Lab) -> None:
    """Signal's real root in place of the lab's Signal CA: the lab server's certificate (and the
    lab's web CA given as --ca-file) must not be accepted."""
    section = dict(lab.app_case("signal-reachable").section)
    section["ca_pem"] = load_endpoints().section("signal")["ca_pem"]
    measurement = run(lab, section, lab.censored_source)
    assert {r["failure"] for r in measurement["test_keys"]["requests"]} == {"ssl_unknown_authority"}
    assert measurement["test_keys"]["signal_backend_status"] == "blocked"
