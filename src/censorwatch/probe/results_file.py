"""The run's JSON Lines output: one measurement per line, appended whole and flushed as each
finishes, so an interrupted run leaves only whole lines (a torn last line from a kill is cut off
when the file is reopened) and a re-run can skip what is already measured."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any

import orjson


def repair_and_read_inputs(path: Path) -> set[tuple[str, str | None]]:
    """(test_name, input) pairs already measured in `path`; cuts a torn or unparsable tail left
    by a killed run."""
    if not path.exists():
        return set()
    done: set[tuple[str, str | None]] = set()
    good_end = 0
    with path.open("rb") as handle:
        for line in handle:
            if not line.endswith(b"\n"):
                break
            try:
                document = orjson.loads(line)
            except orjson.JSONDecodeError:
                break
            if isinstance(document, dict) and isinstance(document.get("test_name"), str):
                measured = document.get("input")
                done.add((document["test_name"], measured if isinstance(measured, str) else None))
            good_end += len(line)
    if good_end != path.stat().st_size:
        with path.open("r+b") as handle:
            handle.truncate(good_end)
    return done


class ResultsFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._handle: IO[bytes] = path.open("ab")

    def __call__(self, measurement: dict[str, Any]) -> None:
        # One write of a whole line: a kill can tear at most this line, which reopening repairs.
        self._handle.write(orjson.dumps(measurement) + b"\n")
        self._handle.flush()

    def close(self) -> None:
        if self._handle.closed:
            return
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
