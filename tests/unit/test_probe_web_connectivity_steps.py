"""Web Connectivity's steps after DNS: the control, the connects and the GET run together, so a URL whose connects
time out waits one timeout, not one for the connects and another for the GET (issue #21, item 8); its keys are
those of a run that waited twice."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from censorwatch.model import failures
from censorwatch.probe import endpoints, http_fetch, web_connectivity
from censorwatch.probe.config import ProbeConfig
from censorwatch.probe.control_client import ControlAnswer
from censorwatch.probe.dns_lookup import DnsLookup
from censorwatch.probe.experiment import ExperimentContext

TIMEOUT = 0.6
URL = "http://dropped.example:8080/"


class Control:
    async def control(self, url: str, endpoints: list[str]) -> ControlAnswer:
        return ControlAnswer({"tcp_connect": {e: {"status": True, "failure": None} for e in endpoints}}, None,
                             "http://127.0.0.1:9/")


@pytest.fixture
def dropped(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """DNS answers 127.0.0.1; every connect waits its whole timeout, as to a censor that drops the SYN."""
    attempts: list[tuple[str, int]] = []

    async def lookup(host: str, config: ProbeConfig, t0: float) -> DnsLookup:
        return DnsLookup(addrs=["127.0.0.1"], resolver_address="127.0.0.1:53")

    async def open_stream(ip: str, port: int, config: ProbeConfig) -> Any:
        attempts.append((ip, port))
        await asyncio.sleep(config.timeout)
        raise TimeoutError

    monkeypatch.setattr(web_connectivity, "_lookup", lookup)
    monkeypatch.setattr(endpoints, "open_stream", open_stream)
    monkeypatch.setattr(http_fetch, "open_stream", open_stream)
    return attempts


def test_connects_that_time_out_cost_one_timeout(dropped: list[tuple[str, int]]) -> None:
    config = ProbeConfig(timeout=TIMEOUT, resolver=("127.0.0.1", 53))
    context = ExperimentContext(config, {}, "report", Control())
    started = time.monotonic()
    measurement = asyncio.run(web_connectivity.measure(URL, context))
    elapsed = time.monotonic() - started
    assert elapsed < TIMEOUT * 1.6, elapsed  # two timeouts one after the other took 2 x TIMEOUT
    assert dropped == [("127.0.0.1", 8080), ("127.0.0.1", 8080)]  # the connect step and the GET both dialled
    keys = measurement["test_keys"]
    assert [tcp["status"]["failure"] for tcp in keys["tcp_connect"]] == [failures.GENERIC_TIMEOUT]
    assert keys["http_experiment_failure"] == failures.GENERIC_TIMEOUT
    assert keys["requests"][0]["failure"] == failures.GENERIC_TIMEOUT
    assert keys["blocking"] == "tcp_ip" and keys["accessible"] is False


def test_a_measurement_cancelled_by_its_deadline_leaves_nothing_running(dropped: list[tuple[str, int]]) -> None:
    config = ProbeConfig(timeout=TIMEOUT, resolver=("127.0.0.1", 53))
    context = ExperimentContext(config, {}, "report", Control())

    async def run() -> set[asyncio.Task[Any]]:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(web_connectivity.measure(URL, context), TIMEOUT / 3)
        await asyncio.sleep(0)
        return {task for task in asyncio.all_tasks() if task is not asyncio.current_task() and not task.done()}

    assert asyncio.run(run()) == set()
