"""The facebook_messenger probe test against the lab's Messenger cases
(lab/scenarios/facebook_messenger.py): the real experiment on real loopback sockets from the
censored source, judged by analysis/facebook_messenger.py; and the geoip database deciding whose
network an answer is in when the section lists no networks."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from censorwatch.analysis.dispatch import analyse
from censorwatch.lab import Lab
from censorwatch.probe import geoip_db
from censorwatch.probe.experiments import facebook_messenger
from tests.integration.lab_probe import lab_context, runnable_case

pytestmark = pytest.mark.integration

HONEST = "127.0.0.3"
TIMEOUT = 2.0
# case -> (facebook_dns_blocking, facebook_tcp_blocking) as the probe must write them
KEYS: dict[str, tuple[bool, bool]] = {
    "facebook-reachable": (False, False),
    "facebook-dns-nxdomain": (True, False),
    "facebook-dns-forged": (True, False),
    "facebook-ip-blackhole": (False, True),
    "facebook-ip-iptables-drop": (False, True),
}
SERVICES = facebook_messenger.SERVICES


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab(tmp_path_factory.mktemp("lab-facebook"), tests={"facebook_messenger"}) as running:
        yield running


def run(lab: Lab, section: dict[str, Any], source: str) -> dict[str, Any]:
    return asyncio.run(facebook_messenger.measure(None, lab_context(lab, section, source, TIMEOUT)))


def test_the_lab_has_the_messenger_cases(lab: Lab) -> None:
    assert {case.name for case in lab.app_cases if case.test_name == "facebook_messenger"} == set(KEYS)


@pytest.mark.parametrize("name", sorted(KEYS))
def test_each_case_is_judged_as_the_lab_expects(lab: Lab, name: str) -> None:
    case = runnable_case(lab, name)
    measurement = run(lab, case.section, lab.censored_source)
    tk = measurement["test_keys"]
    assert measurement["test_name"] == "facebook_messenger"
    assert (tk["facebook_dns_blocking"], tk["facebook_tcp_blocking"]) == KEYS[name]
    dns_ok, tcp_ok = not KEYS[name][0], not KEYS[name][1]
    for service in SERVICES:
        assert tk[f"facebook_{service}_dns_consistent"] is dns_ok
        # stun is only looked up; a host whose answer is not Facebook's is not judged reachable (probe-cli)
        expected = None if service == "stun" or not dns_ok else tcp_ok
        assert tk[f"facebook_{service}_reachable"] is expected, service
    verdict = analyse(measurement)
    assert (verdict.verdict, verdict.blocking) == (case.expected_verdict, case.expected_blocking), verdict.reason


def test_stun_is_only_looked_up(lab: Lab) -> None:
    section = lab.app_case("facebook-reachable").section
    tk = run(lab, section, lab.censored_source)["test_keys"]
    stun = section["services"]["stun"]["hostname"]
    assert any(q["hostname"] == stun for q in tk["queries"])
    assert len(tk["tcp_connect"]) == len(SERVICES) - 1  # one successful connect per other service


@pytest.mark.parametrize("name", ["facebook-dns-nxdomain", "facebook-dns-forged", "facebook-ip-iptables-drop"])
def test_the_blocking_is_the_censored_sources_alone(lab: Lab, name: str) -> None:
    case = runnable_case(lab, name)
    verdict = analyse(run(lab, case.section, HONEST))
    assert verdict.verdict == "ok", verdict.reason


def geoip(tmp_path: Path, asn: int, name: str) -> Path:
    """A real geoip database file that puts all of 127.0.0.0/8 in `asn`."""
    path = tmp_path / f"as{asn}.cwgeo"
    rows = geoip_db.parse_ip2asn([f"127.0.0.0\t127.255.255.255\t{asn}\tUS\t{name}"])
    geoip_db.build(rows, path, "test")
    return path


@pytest.mark.parametrize(("asn", "consistent", "verdict"),
                         [(32934, True, ("ok", None)), (15169, False, ("anomaly", "dns"))])
def test_without_networks_the_geoip_database_decides(lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      asn: int, consistent: bool,
                                                      verdict: tuple[str, str | None]) -> None:
    monkeypatch.setenv(geoip_db.DB_ENV, str(geoip(tmp_path, asn, "SOME-NETWORK")))
    section = {**lab.app_case("facebook-reachable").section, "networks": []}
    measurement = run(lab, section, lab.censored_source)
    tk = measurement["test_keys"]
    answers = [a for q in tk["queries"] for a in q["answers"] if a.get("ipv4")]
    assert answers and {(a["asn"], a["as_org_name"]) for a in answers} == {(asn, "SOME-NETWORK")}
    assert all(tk[f"facebook_{service}_dns_consistent"] is consistent for service in SERVICES)
    result = analyse(measurement)
    assert (result.verdict, result.blocking) == verdict, result.reason


def test_without_networks_or_database_consistency_is_unknown(lab: Lab, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(geoip_db.DB_ENV, str(tmp_path / "absent.cwgeo"))
    section = {**lab.app_case("facebook-reachable").section, "networks": []}
    tk = run(lab, section, lab.censored_source)["test_keys"]
    assert all(tk[f"facebook_{service}_dns_consistent"] is None for service in SERVICES)
    assert tk["facebook_dns_blocking"] is None and tk["facebook_tcp_blocking"] is False
    assert all("asn" not in a for q in tk["queries"] for a in q["answers"])
