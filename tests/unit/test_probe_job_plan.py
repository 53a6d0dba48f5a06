"""Which measurements a `censorwatch probe` run makes, and the endpoints file it reads them from."""

from __future__ import annotations

from pathlib import Path

import pytest

from censorwatch.probe.endpoints_file import (
    EndpointsError,
    load_endpoints,
    parse_endpoints,
    write_endpoints,
)
from censorwatch.probe.experiments import EXPERIMENTS, experiment
from censorwatch.probe.job_plan import PlanError, plan_jobs
from censorwatch.probe.runner import Job

EMPTY = parse_endpoints("version: 1\n", "test.yaml")


def test_urls_go_to_web_connectivity_by_default() -> None:
    assert plan_jobs(["web_connectivity"], ["http://a.example/", "http://b.example/"], EMPTY) == [
        Job("web_connectivity", "http://a.example/"), Job("web_connectivity", "http://b.example/")]


def test_web_connectivity_without_urls_says_what_to_give() -> None:
    with pytest.raises(PlanError, match="give URLs or --list"):
        plan_jobs(["web_connectivity"], [], EMPTY)


def test_unknown_test_names_the_tests_censorwatch_runs() -> None:
    with pytest.raises(PlanError, match=r"unknown test 'telegramm'.*web_connectivity, telegram"):
        plan_jobs(["telegramm"], [], EMPTY)


def test_a_test_missing_from_the_endpoints_file_is_named_with_the_file() -> None:
    with pytest.raises(PlanError, match=r"test\.yaml has no section for the test 'telegram'"):
        plan_jobs(["telegram"], [], EMPTY)


def test_urls_given_only_to_tests_that_take_none_is_an_error() -> None:
    with pytest.raises(PlanError, match="take no URLs"):
        plan_jobs(["telegram"], ["http://a.example/"], EMPTY)


def test_every_test_module_has_the_interface() -> None:
    for name in EXPERIMENTS:
        module = experiment(name)
        assert name == module.TEST_NAME
        assert isinstance(module.TEST_VERSION, str)
        assert isinstance(module.TAKES_URLS, bool)
        assert callable(module.inputs) and callable(module.measure)


def test_shipped_endpoints_have_a_section_for_every_test_but_web_connectivity() -> None:
    shipped = load_endpoints()
    for name in EXPERIMENTS:
        if name != "web_connectivity":
            assert isinstance(shipped.section(name), dict), name


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version: 2\n", "version 2; this censorwatch reads version 1"),
        ("- a\n- b\n", "must be a mapping"),
        ("version: 1\ntelegram: [1, 2]\n", "section 'telegram' must be a mapping"),
        ("version: 1\ntelegram: {a: [1\n", "not valid YAML"),
    ],
)
def test_a_bad_endpoints_file_gets_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "endpoints.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(EndpointsError, match=message):
        load_endpoints(path)


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EndpointsError, match="cannot read the endpoints file"):
        load_endpoints(tmp_path / "nope.yaml")


def test_written_file_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "lab.yaml"
    write_endpoints(path, {"telegram": {"datacenters": ["127.0.1.1"], "ports": [8080]}})
    assert load_endpoints(path).section("telegram") == {"datacenters": ["127.0.1.1"], "ports": [8080]}
