from __future__ import annotations

import json
from pathlib import Path

from censorwatch.probe.results_file import ResultsFile, repair_and_read_inputs

WC = "web_connectivity"


def test_torn_tail_is_cut_and_inputs_are_known(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    sink = ResultsFile(path)
    sink({"test_name": WC, "input": "http://a.example/", "test_keys": {}})
    sink({"test_name": WC, "input": "http://b.example/", "test_keys": {}})
    sink.close()
    with path.open("ab") as handle:
        handle.write(b'{"test_name": "web_connectivity", "input": "http://c.exa')  # a kill in the middle of a write
    assert repair_and_read_inputs(path) == {(WC, "http://a.example/"), (WC, "http://b.example/")}
    lines = path.read_text().splitlines()
    assert [json.loads(line)["input"] for line in lines] == ["http://a.example/", "http://b.example/"]
    sink = ResultsFile(path)
    sink({"test_name": WC, "input": "http://c.example/"})
    sink.close()
    assert repair_and_read_inputs(path) == {(WC, "http://a.example/"), (WC, "http://b.example/"),
                                            (WC, "http://c.example/")}


def test_a_test_without_input_is_known_by_its_name(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    sink = ResultsFile(path)
    sink({"test_name": "telegram", "input": None, "test_keys": {}})
    sink({"test_name": "http3", "input": "https://a.example/", "test_keys": {}})
    sink.close()
    assert repair_and_read_inputs(path) == {("telegram", None), ("http3", "https://a.example/")}


def test_missing_file_means_nothing_done(tmp_path: Path) -> None:
    assert repair_and_read_inputs(tmp_path / "none.jsonl") == set()
