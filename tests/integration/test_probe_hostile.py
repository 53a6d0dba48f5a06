"""The probe against misbehaving servers on loopback: nothing stalls the run or crashes it."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from censorwatch.analysis import analyse
from censorwatch.probe.config import ProbeConfig
from censorwatch.probe.runner import ProbeRunner, web_jobs
from censorwatch.services.test_helper import BackgroundTestHelper, HelperConfig
from tests.integration.hostile_servers import Servers, garbage, hang, huge, ok, trickle

pytestmark = pytest.mark.integration


def test_hostile_servers_never_stall_the_run() -> None:
    handlers = {"ok": ok, "hang": hang, "trickle": trickle, "garbage": garbage, "huge": huge}
    helper_config = HelperConfig(connect_timeout=2, tls_timeout=2, http_timeout=4, loopback_only=True)
    with Servers(handlers) as servers, BackgroundTestHelper(helper_config) as helper:
        results: dict[str, dict[str, Any]] = {}
        config = ProbeConfig(test_helper=helper.url, timeout=1.0, body_cap=256 * 1024)
        runner = ProbeRunner(config, concurrency=8, sinks=[lambda m: results.__setitem__(m["input"], m)])
        urls = [servers.url(name) for name in handlers]
        started = time.monotonic()
        summary = asyncio.run(runner.run(web_jobs(urls)))
        elapsed = time.monotonic() - started
    assert summary.measured == len(urls)
    assert elapsed < 20, f"the run took {elapsed:.1f}s"
    keys = {url.rsplit("/", 1)[1]: m["test_keys"] for url, m in results.items()}
    assert keys["ok"]["http_experiment_failure"] is None
    assert keys["ok"]["requests"][0]["response"]["code"] == 200
    assert keys["hang"]["http_experiment_failure"] == "generic_timeout_error"
    assert keys["trickle"]["http_experiment_failure"] == "generic_timeout_error"
    assert keys["garbage"]["http_experiment_failure"] is not None
    huge_response = keys["huge"]["requests"][0]["response"]
    assert huge_response["body_is_truncated"] is True
    assert len(huge_response["body"]) == 256 * 1024
    for measurement in results.values():
        assert measurement["probe_ip"] == "127.0.0.1"
        assert analyse(measurement).verdict in {"ok", "anomaly", "confirmed", "failure"}
    # The helper fetched the real page, so the control is usable for the honest server.
    assert analyse(results[servers.url("ok")]).verdict == "ok"


def test_unknown_host_and_unreachable_helper_are_recorded_not_fatal() -> None:
    with Servers({"ok": ok}) as servers:
        results: list[dict[str, Any]] = []
        config = ProbeConfig(test_helper="http://127.0.0.1:9/", timeout=1.0)
        summary = asyncio.run(ProbeRunner(config, sinks=[results.append]).run(web_jobs([servers.url("ok")])))
    assert summary.measured == 1
    test_keys = results[0]["test_keys"]
    assert test_keys["control_failure"]
    assert analyse(results[0]).verdict == "failure"
