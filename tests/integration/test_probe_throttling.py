"""The throttling test end to end on loopback: the lab's shaping proxy throttles by server name,
the probe measures from the censored source, the analysis judges; with a real store, earlier
slow runs turn the anomaly into confirmed throttling."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from statistics import median
from typing import Any
from urllib.parse import urlsplit

import pytest

from censorwatch.analysis import dispatch
from censorwatch.analysis.record import analysed_record
from censorwatch.analysis.throttling_history import StoreHistory
from censorwatch.lab.app_lab import AppCase
from censorwatch.lab.lab import Lab
from censorwatch.lab.scenarios.throttling import RATE_BPS
from censorwatch.model.measurement import new_report_id
from censorwatch.probe.config import ProbeConfig
from censorwatch.probe.experiment import ExperimentContext, History
from censorwatch.probe.experiments import throttling
from censorwatch.store import Store
from tests.integration.lab_probe import lab_config

ASN = "AS64500"
CASES = ("throttling-not-throttled", "throttling-by-sni", "throttling-handshake", "throttling-slow-server")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab(tmp_path_factory.mktemp("lab"), use_iptables=False, tests={"throttling"}) as running:
        yield running


def config(lab: Lab, source: str | None = None) -> ProbeConfig:
    return lab_config(lab, source, timeout=3.0, probe_asn=ASN)


def run(case: AppCase, probe: ProbeConfig, history: History | None = None, **section: Any) -> dict[str, Any]:
    context = ExperimentContext(probe, {**case.section, **section}, new_report_id("throttling", "RU", ASN),
                                history=history)
    return asyncio.run(throttling.measure(case.inputs[0], context))


def speeds(measurement: dict[str, Any], kind: str) -> list[float]:
    return [d["kbit_per_s"] for d in measurement["test_keys"]["downloads"] if d["kind"] == kind and d["kbit_per_s"]]


@pytest.mark.parametrize("name", CASES)
def test_case_judged_as_expected(lab: Lab, name: str) -> None:
    case = lab.app_case(name)
    measurement = run(case, config(lab))
    verdict = dispatch.analyse(measurement)
    assert (verdict.verdict, verdict.blocking) == (case.expected_verdict, case.expected_blocking), verdict.reason
    downloads = measurement["test_keys"]["downloads"]
    assert [d["kind"] for d in downloads[:3]] == ["target", "control", "decoy"]  # interleaved
    assert all(d["failure"] is None for d in downloads), downloads
    assert measurement["test_keys"]["history"] is None


def test_sni_throttling_paces_to_the_configured_rate(lab: Lab) -> None:
    measurement = run(lab.app_case("throttling-by-sni"), config(lab))
    target, control, decoy = (median(speeds(measurement, kind)) for kind in ("target", "control", "decoy"))
    assert 0.6 * RATE_BPS / 1000 < target < 1.2 * RATE_BPS / 1000  # the 2021 rate, as the probe sees it
    assert control > 50 * target and decoy > 50 * target
    assert all(d["time_capped"] for d in measurement["test_keys"]["downloads"] if d["kind"] == "target")
    assert "server name" in dispatch.analyse(measurement).reason


def test_uncensored_source_is_not_throttled(lab: Lab) -> None:
    """The shaper keys on source and name: the same URL from another address goes at full speed."""
    measurement = run(lab.app_case("throttling-by-sni"), config(lab, source="127.0.0.1"))
    assert dispatch.analyse(measurement).verdict == "ok"


def test_handshake_only_throttling_is_seen_in_the_handshake(lab: Lab) -> None:
    measurement = run(lab.app_case("throttling-handshake"), config(lab))
    handshakes = [d["tls_handshake_time"] for d in measurement["test_keys"]["downloads"] if d["kind"] == "target"]
    assert min(handshakes) >= 1.0
    assert "TLS handshake" in dispatch.analyse(measurement).reason


def test_failure_is_not_throttling(lab: Lab) -> None:
    """A target nobody listens on: the layer of the failure, never throttling."""
    case = lab.app_case("throttling-by-sni")
    parts = urlsplit(case.inputs[0])
    closed = AppCase(case.name, case.test_name, case.section, "", None, False, "",
                     (parts._replace(netloc=f"{parts.hostname}:1").geturl(),))
    verdict = dispatch.analyse(run(closed, config(lab), samples=2))
    assert (verdict.verdict, verdict.blocking) == ("anomaly", "tcp_ip"), verdict.reason


def test_history_in_the_store_confirms(lab: Lab, tmp_path: Path) -> None:
    """Fine runs from before the onset, then slow runs: anomaly until two earlier runs were slow
    and they are at least half the history, then confirmed."""
    case = lab.app_case("throttling-by-sni")
    fast = {"samples": 2, "max_seconds": 0.5}
    with Store(tmp_path / "store.duckdb") as store:
        history = StoreHistory(store)
        judged: list[tuple[str | None, dict[str, Any] | None]] = []
        for source in ("127.0.0.1", "127.0.0.1", None, None, None):  # before the onset: an uncensored address
            measurement = run(case, config(lab, source), history, **fast)
            record = analysed_record(measurement, "probe")
            store.add([record])
            judged.append((record.verdict.verdict, measurement["test_keys"]["history"]))
        assert [verdict for verdict, _ in judged] == ["ok", "ok", "anomaly", "anomaly", "confirmed"]
        assert judged[-1][1] is not None
        assert (judged[-1][1]["measurements"], judged[-1][1]["slow"]) == (4, 2)
        assert judged[-1][1]["first_seen"] is not None
        # Another network's or another target's history is not this one's.
        assert history.earlier("throttling", case.inputs[0], "AS1", 10) == []
        assert history.earlier("throttling", case.inputs[0] + "x", ASN, 10) == []
        assert len(history.earlier("throttling", case.inputs[0], ASN, 3)) == 3
