"""How `process --files-per-task` groups input files into Dask tasks: every file exactly once,
largest first, small files up to the count together, large files always alone."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from censorwatch.distributed import task_groups as grouping
from censorwatch.distributed.task_groups import task_groups


def files_of(directory: Path, sizes: list[int]) -> list[Path]:
    paths = []
    for index, size in enumerate(sizes):
        path = directory / f"f{index}.jsonl.gz"
        path.write_bytes(b"x" * size)
        paths.append(path)
    return paths


def test_by_default_every_file_is_a_task_largest_first(tmp_path: Path) -> None:
    paths = files_of(tmp_path, [5, 50, 20])
    assert task_groups(paths) == [[paths[1]], [paths[2]], [paths[0]]]


def test_small_files_share_tasks_and_large_ones_stay_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(grouping, "SMALL_FILE_BYTES", 100)
    paths = files_of(tmp_path, [400, 90, 100, 50, 30, 10, 10, 5])
    assert task_groups(paths, 3) == [[paths[0]], [paths[2]], [paths[1], paths[3], paths[4]],
                                     [paths[5], paths[6], paths[7]]]


def test_a_file_that_cannot_be_examined_is_still_handed_out(tmp_path: Path) -> None:
    paths = [*files_of(tmp_path, [10]), tmp_path / "gone.jsonl.gz"]
    assert sorted(p for group in task_groups(paths, 8) for p in group) == sorted(paths)


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.integers(min_value=0, max_value=300), min_size=1, max_size=25),
       files_per_task=st.integers(min_value=1, max_value=10))
def test_every_file_once_in_size_order_and_groups_bounded(sizes: list[int], files_per_task: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        paths = files_of(Path(directory), sizes)
        small = 150
        original, grouping.SMALL_FILE_BYTES = grouping.SMALL_FILE_BYTES, small
        try:
            groups = task_groups(paths, files_per_task)
        finally:
            grouping.SMALL_FILE_BYTES = original
        handed = [p for group in groups for p in group]
        size = {p: p.stat().st_size for p in paths}
        assert sorted(handed) == sorted(paths)
        assert [size[p] for p in handed] == sorted(sizes, reverse=True)
        for group in groups:
            assert len(group) <= files_per_task
            assert len(group) == 1 or all(size[p] < small for p in group)
