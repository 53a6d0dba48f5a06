"""End to end for the probe's other tests: for every scenario the lab runs (messengers, Tor,
OpenVPN, DNS over HTTPS/TLS, HTTP/3, throttling), the real `censorwatch probe --test NAME
--endpoints FILE` CLI from the censored source, and the verdict it stores must be the one the lab
says the analysis should find."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from censorwatch.lab import Lab
from censorwatch.lab.app_lab import AppCase

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Outcome:
    case: AppCase
    returncode: int
    summary: list[dict[str, Any]]
    measurements: list[dict[str, Any]]
    log: str


def _probe(lab: Lab, case: AppCase, workdir: Path) -> Outcome:
    output, db = workdir / f"{case.name}.jsonl", workdir / f"{case.name}.duckdb"
    command = lab.app_probe_command(case, output)[1:]  # without the "censorwatch" program name
    done = subprocess.run([sys.executable, "-m", "censorwatch", *command, "--db", str(db), "--timeout", "3",
                           "--format", "json"], capture_output=True, text=True, timeout=300, check=False)
    summary = json.loads(done.stdout) if done.returncode == 0 and done.stdout.strip() else []
    lines = output.read_text(encoding="utf-8").splitlines() if output.exists() else []
    return Outcome(case, done.returncode, summary, [json.loads(line) for line in lines], done.stdout + done.stderr)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Outcome]]:
    workdir = tmp_path_factory.mktemp("lab-apps")
    with Lab(workdir, tests=None) as lab:
        cases = lab.runnable_app_cases
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(lambda case: _probe(lab, case, workdir), cases))
        yield {outcome.case.name: outcome for outcome in results}


def test_the_lab_has_cases_for_every_test(outcomes: dict[str, Outcome]) -> None:
    from censorwatch.probe.experiments import EXPERIMENTS

    tested = {outcome.case.test_name for outcome in outcomes.values()}
    missing = set(EXPERIMENTS) - {"web_connectivity"} - tested
    assert not missing, f"no lab case for {sorted(missing)}"
    for test_name in tested:
        verdicts = {o.case.expected_verdict for o in outcomes.values() if o.case.test_name == test_name}
        assert "ok" in verdicts and verdicts & {"anomaly", "confirmed"}, f"{test_name}: reachable and blocked cases"


def test_every_case_gets_its_verdict(outcomes: dict[str, Outcome]) -> None:
    wrong = []
    for name, outcome in sorted(outcomes.items()):
        case = outcome.case
        expected = [{"test": case.test_name, "verdict": case.expected_verdict, "blocking": case.expected_blocking,
                     "count": len(outcome.measurements)}]
        if outcome.returncode != 0 or outcome.summary != expected or not outcome.measurements:
            wrong.append(f"{name} ({case.test_name}): expected {case.expected_verdict}/{case.expected_blocking}, "
                         f"got {outcome.summary} (exit {outcome.returncode})\n{outcome.log[-1500:]}")
    assert not wrong, "\n\n".join(wrong)


def test_measurements_are_ooni_shaped_and_keep_no_address(outcomes: dict[str, Outcome]) -> None:
    for outcome in outcomes.values():
        for measurement in outcome.measurements:
            assert measurement["test_name"] == outcome.case.test_name
            assert measurement["probe_ip"] == "127.0.0.1"  # OONI's scrubbed value, never ours
            assert isinstance(measurement["test_keys"], dict)
            assert measurement["report_id"] and measurement["measurement_uid"]
