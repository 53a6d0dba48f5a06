"""What every probe test (an "experiment", as OONI Probe calls them) shares: the context it runs
in, the df-000 base keys of the measurement it returns, and how that measurement is finished.

An experiment module under `censorwatch.probe.experiments` exposes:

    TEST_NAME: str        OONI's test_name where OONI has the test (telegram, dnscheck, ...)
    TEST_VERSION: str
    TAKES_URLS: bool      True: one measurement per URL input (web_connectivity, http3,
                          throttling); False: the inputs come from its endpoints section
                          (`inputs(section)`), or one input-less measurement ([None])
    def inputs(section: Mapping[str, Any]) -> list[str | None]
    async def measure(input: str | None, context: ExperimentContext) -> dict[str, Any]

`measure` returns a complete OONI measurement (build it with `new_measurement` and `finish`),
never raises for what the network does (a failure is data), and bounds every step in time.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from censorwatch.model.measurement import DATA_FORMAT_VERSION, SCRUBBED_IP, format_time, new_measurement_uid
from censorwatch.probe.config import ProbeConfig


class Control(Protocol):
    """The Web Connectivity control (probe/control_client.py); only URL tests use it."""

    async def control(self, url: str, endpoints: list[str]) -> Any: ...


class History(Protocol):
    """Earlier measurements of this network, for tests judged against history (throttling)."""

    def earlier(self, test_name: str, input: str | None, probe_asn: str, limit: int) -> list[dict[str, Any]]: ...


@dataclass
class ExperimentContext:
    config: ProbeConfig
    section: Mapping[str, Any]  # this test's section of the endpoints file (probe/endpoints_file.py)
    report_id: str
    control: Control | None = None
    history: History | None = None
    started_monotonic: float = field(default_factory=time.monotonic)


def new_measurement(test_name: str, test_version: str, input: str | None, context: ExperimentContext,
                    started: datetime | None = None) -> dict[str, Any]:
    """df-000 base keys. probe_ip is OONI's scrubbed value: we never learn or keep our own IP."""
    config = context.config
    moment = started or datetime.now(UTC)
    resolver = config.resolver_network  # the resolver's network when public; its address stays scrubbed
    return {
        "annotations": {"engine_name": "censorwatch", "platform": "linux"},
        "data_format_version": DATA_FORMAT_VERSION,
        "input": input,
        "measurement_start_time": format_time(moment),
        "probe_asn": config.probe_asn,
        "probe_cc": config.probe_cc,
        "probe_ip": SCRUBBED_IP,
        "probe_network_name": config.probe_network_name,
        "report_id": context.report_id,
        "resolver_asn": resolver.probe_asn if resolver is not None else "AS0",
        "resolver_ip": SCRUBBED_IP,
        "resolver_network_name": resolver.network_name if resolver is not None else None,
        "software_name": config.software_name,
        "software_version": config.software_version,
        "test_helpers": {},
        "test_name": test_name,
        "test_version": test_version,
        "test_start_time": format_time(moment),
    }


def finish(measurement: dict[str, Any], test_keys: dict[str, Any], t0: float) -> dict[str, Any]:
    """Attach the test keys, the runtime since `t0` (time.monotonic()) and a fresh uid."""
    measurement["test_keys"] = test_keys
    measurement["test_runtime"] = round(time.monotonic() - t0, 6)
    measurement["measurement_uid"] = new_measurement_uid(measurement)
    return measurement


def elapsed(t0: float) -> float:
    """Seconds since the measurement began, as OONI's `t`/`t0` fields count them."""
    return round(time.monotonic() - t0, 6)
