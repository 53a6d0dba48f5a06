from __future__ import annotations

import json
from pathlib import Path

from censorwatch.probe.results_file import ResultsFile, repair_and_read_inputs


def test_torn_tail_is_cut_and_inputs_are_known(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    sink = ResultsFile(path)
    sink({"input": "http://a.example/", "test_keys": {}})
    sink({"input": "http://b.example/", "test_keys": {}})
    sink.close()
    with path.open("ab") as handle:
        handle.write(b'{"input": "http://c.exa')  # a kill in the middle of a write
    assert repair_and_read_inputs(path) == {"http://a.example/", "http://b.example/"}
    lines = path.read_text().splitlines()
    assert [json.loads(line)["input"] for line in lines] == ["http://a.example/", "http://b.example/"]
    sink = ResultsFile(path)
    sink({"input": "http://c.example/"})
    sink.close()
    assert repair_and_read_inputs(path) == {"http://a.example/", "http://b.example/", "http://c.example/"}


def test_missing_file_means_nothing_done(tmp_path: Path) -> None:
    assert repair_and_read_inputs(tmp_path / "none.jsonl") == set()
