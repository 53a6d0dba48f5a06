"""What one `censorwatch probe` run measures: every requested test with its inputs. Tests that take
URLs measure the user's URLs (or, with none given, their section's defaults); the others measure
what their section of the endpoints file lists."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from censorwatch.probe.endpoints_file import Endpoints, EndpointsError
from censorwatch.probe.experiments import DEFAULT_TEST, EXPERIMENTS, experiment
from censorwatch.probe.runner import Job


class PlanError(ValueError):
    """The run cannot start; the message says what to give."""


def plan_jobs(tests: list[str], urls: list[str], endpoints: Endpoints) -> list[Job]:
    unknown = [name for name in tests if name not in EXPERIMENTS]
    if unknown:
        raise PlanError(f"unknown test {unknown[0]!r}; censorwatch runs: {', '.join(EXPERIMENTS)}")
    names = list(dict.fromkeys(tests))
    modules = {name: experiment(name) for name in names}
    if urls and not any(module.TAKES_URLS for module in modules.values()):
        raise PlanError(f"{', '.join(names)} take no URLs; the tests that measure URLs are "
                        f"{', '.join(name for name in EXPERIMENTS if experiment(name).TAKES_URLS)}")
    jobs: list[Job] = []
    for name, module in modules.items():
        takes_users_urls = module.TAKES_URLS and urls
        inputs: list[str | None] = list(urls) if takes_users_urls else list(module.inputs(_section(name, endpoints)))
        if not inputs:
            if module.TAKES_URLS:
                raise PlanError(f"nothing to measure for {name}: give URLs or --list FILE.csv")
            raise PlanError(f"{endpoints.source} lists nothing for {name} to measure")
        jobs.extend(Job(name, item) for item in inputs)
    return jobs


def _section(name: str, endpoints: Endpoints) -> Mapping[str, Any]:
    if name == DEFAULT_TEST:
        return {}
    try:
        return endpoints.section(name)
    except EndpointsError as error:
        raise PlanError(str(error)) from error
