"""Stateful property test: random sequences of open, submit, retry, close and restart against the
collector agree with a simple model — a retry always answers the acknowledged uid, a closed report
refuses new measurements, and the store ends up holding exactly the acknowledged measurements."""

from __future__ import annotations

import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from censorwatch.services.collector.app import create_app
from censorwatch.services.collector.engine import CollectorConfig
from censorwatch.store import Store

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.integration

OPEN = {
    "probe_cc": "IT", "probe_asn": "AS30722", "software_name": "censorwatch", "software_version": "0.1.0",
    "test_name": "dnscheck", "test_version": "0.1.0", "data_format_version": "0.2.0", "format": "json",
}


def content(n: int) -> dict[str, Any]:
    return {"test_name": "dnscheck", "probe_cc": "IT", "input": f"dot://r{n}.example/", "test_keys": {"n": n}}


class CollectorModel(RuleBasedStateMachine):
    reports = Bundle("reports")

    def __init__(self) -> None:
        super().__init__()
        self.workdir = Path(tempfile.mkdtemp(prefix="collector-model-"))
        self.config = CollectorConfig(db_path=self.workdir / "db.duckdb", spool_dir=self.workdir / "spool")
        self.client = self._start()
        self.closed: dict[str, bool] = {}
        self.acked: dict[tuple[str, int], str] = {}

    def _start(self) -> TestClient:
        client = TestClient(create_app(self.config))
        client.__enter__()
        return client

    @rule(target=reports)
    def open_report(self) -> str:
        response = self.client.post("/report", json=OPEN)
        assert response.status_code == 200
        report_id: str = response.json()["report_id"]
        self.closed[report_id] = False
        return report_id

    @rule(report_id=reports, n=st.integers(0, 2))
    def submit(self, report_id: str, n: int) -> None:
        response = self.client.post(f"/report/{report_id}", json={"format": "json", "content": content(n)})
        known = self.acked.get((report_id, n))
        if known is not None:
            assert response.status_code == 200 and response.json()["measurement_uid"] == known
        elif self.closed[report_id]:
            assert response.status_code == 409
        else:
            assert response.status_code == 200
            self.acked[(report_id, n)] = response.json()["measurement_uid"]

    @rule(report_id=reports)
    def close(self, report_id: str) -> None:
        assert self.client.post(f"/report/{report_id}/close").status_code == 200
        self.closed[report_id] = True

    @rule()
    def restart(self) -> None:
        self.client.__exit__(None, None, None)
        self.client = self._start()

    @invariant()
    def uids_are_distinct(self) -> None:
        assert len(set(self.acked.values())) == len(self.acked)

    def teardown(self) -> None:
        self.client.__exit__(None, None, None)
        with Store(self.config.db_path, read_only=True) as store:
            stored = {row["measurement_uid"] for row in store.iter_rows("SELECT measurement_uid FROM measurements")}
        shutil.rmtree(self.workdir, ignore_errors=True)
        assert stored == set(self.acked.values())


CollectorModel.TestCase.settings = settings(
    max_examples=40, stateful_step_count=10, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestCollectorModel = CollectorModel.TestCase
