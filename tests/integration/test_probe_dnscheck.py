"""dnscheck end to end on loopback: the probe (from the censored source) against the lab's DoH and
DoT resolvers, judged by the analysis written for OONI's own dnscheck measurements."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from censorwatch.analysis import dispatch
from censorwatch.lab import Lab
from censorwatch.lab.app_lab import AppCase
from censorwatch.probe.endpoints_file import EndpointsError, load_endpoints
from censorwatch.probe.experiments import dnscheck
from tests.integration.lab_probe import lab_context, runnable_case

pytestmark = pytest.mark.integration

CASES = ("dnscheck-doh-ok", "dnscheck-dot-ok", "dnscheck-doh-sni-reset", "dnscheck-dot-reset",
         "dnscheck-bootstrap-nxdomain", "dnscheck-dot-tcp-drop")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab(tmp_path_factory.mktemp("lab"), tests={"dnscheck"}) as running:
        yield running


def run(lab: Lab, case: AppCase, source: str | None = None) -> list[dict[str, Any]]:
    ctx = lab_context(lab, case.section, source)
    return [asyncio.run(dnscheck.measure(url, ctx)) for url in dnscheck.inputs(case.section)]


def test_the_lab_has_every_case(lab: Lab) -> None:
    assert {case.name for case in lab.app_cases} == set(CASES)


@pytest.mark.parametrize("name", CASES)
def test_each_case_is_judged_as_expected(lab: Lab, name: str) -> None:
    case = runnable_case(lab, name)
    for measurement in run(lab, case):
        verdict = dispatch.analyse(measurement)
        assert (verdict.verdict, verdict.blocking) == (case.expected_verdict, case.expected_blocking), verdict.reason


@pytest.mark.parametrize("name", ["dnscheck-doh-sni-reset", "dnscheck-dot-reset", "dnscheck-bootstrap-nxdomain"])
def test_an_honest_source_reaches_the_blocked_resolvers(lab: Lab, name: str) -> None:
    """The interference is the censor's, not a broken server: 127.0.0.1 gets answers."""
    (measurement,) = run(lab, lab.app_case(name), source="127.0.0.1")
    assert dispatch.analyse(measurement).verdict == "ok"


def test_an_ok_lookup_has_probe_cli_shape(lab: Lab) -> None:
    case = lab.app_case("dnscheck-doh-ok")
    (measurement,) = run(lab, case)
    tk = measurement["test_keys"]
    assert measurement["test_name"] == "dnscheck" and measurement["input"] == case.section["resolvers"][0]
    assert tk["bootstrap_failure"] is None
    assert tk["bootstrap"]["queries"][0]["hostname"].startswith("doh-ok.")
    ((target, lookup),) = tk["lookups"].items()
    assert target.startswith("https://127.0.1.") and target.endswith("/dns-query")
    assert lookup["failure"] is None and lookup["failed_operation"] is None
    a_query = next(q for q in lookup["queries"] if q["query_type"] == "A")
    assert a_query["engine"] == "doh" and a_query["answers"][0]["ipv4"] == "127.0.0.1"
    assert lookup["tls_handshakes"][0]["server_name"].startswith("doh-ok.")
    assert lookup["tls_handshakes"][0]["tls_version"].startswith("TLS")
    assert all(request["response"]["code"] == 200 for request in lookup["requests"])


def test_a_reset_is_recorded_at_the_tls_handshake(lab: Lab) -> None:
    (measurement,) = run(lab, lab.app_case("dnscheck-dot-reset"))
    (lookup,) = measurement["test_keys"]["lookups"].values()
    assert (lookup["failure"], lookup["failed_operation"]) == ("connection_reset", "tls_handshake")
    assert all(entry["status"]["success"] for entry in lookup["tcp_connect"])


def test_bogon_answers_are_errors_by_default(lab: Lab) -> None:
    """probe-cli rejects bogons: the lab's loopback answers then fail the bootstrap."""
    section = {**lab.app_case("dnscheck-doh-ok").section, "reject_bogons": True}
    measurement = asyncio.run(dnscheck.measure(section["resolvers"][0], lab_context(lab, section)))
    assert measurement["test_keys"]["bootstrap_failure"] == "dns_bogon_error"
    assert measurement["test_keys"]["lookups"] == {}


def test_known_addresses_are_measured_beside_the_bootstrap_ones(lab: Lab) -> None:
    case = lab.app_case("dnscheck-dot-ok")
    url = case.section["resolvers"][0]
    section = {**case.section, "resolvers": [{"url": url, "addrs": ["127.0.0.1"]}]}
    measurement = asyncio.run(dnscheck.measure(url, lab_context(lab, section)))
    lookups = measurement["test_keys"]["lookups"]
    assert len(lookups) == 2
    # 127.0.0.1 serves no DoT on that port: one endpoint fails, one works, the resolver is usable.
    assert sorted(bool(v["failure"]) for v in lookups.values()) == [False, True]
    assert dispatch.analyse(measurement).verdict == "ok"


def test_the_shipped_section_lists_public_resolvers() -> None:
    section = load_endpoints().section("dnscheck")
    urls = dnscheck.inputs(section)
    assert "https://dns.google/dns-query" in urls and "dot://dns.google:853" in urls
    assert all(str(url).startswith(("https://", "dot://")) for url in urls)


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ({}, "resolvers"),
        ({"resolvers": ["udp://8.8.8.8:53"]}, "resolvers[0]"),
        ({"resolvers": [{"url": "dot://x:853", "addrs": ["not-an-ip"]}]}, "resolvers[0].addrs"),
        ({"resolvers": ["dot://x:853"], "domain": 7}, "domain"),
        ({"resolvers": ["dot://x:853"], "reject_bogons": "yes"}, "reject_bogons"),
    ],
)
def test_a_bad_section_names_the_key(section: dict[str, Any], key: str) -> None:
    with pytest.raises(EndpointsError, match=key.replace("[", r"\[").replace("]", r"\]")):
        dnscheck.inputs(section)
