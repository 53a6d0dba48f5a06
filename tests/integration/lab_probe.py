"""Plumbing shared by the probe tests' integration files (test_probe_*.py): the probe's config and
experiment context pointed at a running lab, the lab cases a test may run, and the child processes
(tor, obfs4proxy) a probe starts."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Collection
from pathlib import Path
from typing import Any

import pytest

from censorwatch.lab import Lab
from censorwatch.lab.app_lab import AppCase
from censorwatch.probe.config import ProbeConfig, parse_host_port
from censorwatch.probe.experiment import ExperimentContext

REPORT_ID = "test-report"
IPTABLES_REASON = "needs root and a working iptables (censorwatch.lab.iptables.iptables_usable)"

Measure = Callable[[str | None, ExperimentContext], Awaitable[dict[str, Any]]]


def lab_config(lab: Lab, source: str | None = None, timeout: float = 2.0, **overrides: Any) -> ProbeConfig:
    """The probe as the lab tests run it: the lab's resolver and CA, from `source` (the censored
    source by default), in RU; `overrides` replace or add ProbeConfig fields."""
    fields: dict[str, Any] = {"resolver": parse_host_port(lab.resolver, 53), "ca_file": lab.ca_file,
                              "source_address": source or lab.censored_source, "timeout": timeout, "probe_cc": "RU"}
    return ProbeConfig(**(fields | overrides))


def lab_context(lab: Lab, section: dict[str, Any], source: str | None = None, timeout: float = 2.0,
                report_id: str = REPORT_ID, **overrides: Any) -> ExperimentContext:
    """An experiment context for `section` with `lab_config(lab, source, timeout, **overrides)`."""
    return ExperimentContext(config=lab_config(lab, source, timeout, **overrides), section=section, report_id=report_id)


def labless_context(section: dict[str, Any], source: str | None, timeout: float = 2.0) -> ExperimentContext:
    """An experiment context that uses no lab service: the system's resolver and CAs, from `source`, in RU."""
    config = ProbeConfig(source_address=source, timeout=timeout, probe_cc="RU")
    return ExperimentContext(config=config, section=section, report_id=REPORT_ID)


def runnable_case(lab: Lab, name: str) -> AppCase:
    """The lab case `name`; the test is skipped when the case needs iptables and the lab has none."""
    case = lab.app_case(name)
    if case.needs_root and not lab.iptables_active:
        pytest.skip(IPTABLES_REASON)
    return case


def measure_runnable(lab: Lab, names: Collection[str], measure: Measure,
                     report_id: str = REPORT_ID) -> dict[str, dict[str, Any]]:
    """Every runnable case among `names` measured at once (input None, from the censored source), by name."""
    cases = [case for case in lab.runnable_app_cases if case.name in names]

    async def run_all() -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(measure(None, lab_context(lab, case.section, report_id=report_id))
                                           for case in cases)))

    return {case.name: result for case, result in zip(cases, asyncio.run(run_all()), strict=True)}


def child_processes(names: Collection[str]) -> list[int]:
    """This process's children running one of `names` (their comm, read from /proc)."""
    if isinstance(names, str):
        raise TypeError("names is a collection of process names, not one name")
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        if ppid == os.getpid() and comm in names:
            found.append(int(entry.name))
    return found
