"""How `process --task-mb` groups input files into Dask tasks: every file exactly once, largest
first, no task above the size unless one file alone is."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from censorwatch.distributed.process import task_groups


def files_of(tmp_path: Path, sizes: list[int]) -> list[Path]:
    paths = []
    for index, size in enumerate(sizes):
        path = tmp_path / f"f{index}.jsonl.gz"
        path.write_bytes(b"x" * size)
        paths.append(path)
    return paths


def test_without_a_size_every_file_is_a_task_largest_first(tmp_path: Path) -> None:
    paths = files_of(tmp_path, [5, 50, 20])
    assert task_groups(paths) == [[paths[1]], [paths[2]], [paths[0]]]


def test_small_files_share_tasks_and_large_ones_stay_alone(tmp_path: Path) -> None:
    paths = files_of(tmp_path, [400, 90, 60, 50, 30, 10, 10])
    groups = task_groups(paths, 100)
    assert groups == [[paths[0]], [paths[1]], [paths[2]], [paths[3], paths[4], paths[5], paths[6]]]


def test_a_file_that_cannot_be_examined_is_still_handed_out(tmp_path: Path) -> None:
    paths = [*files_of(tmp_path, [10]), tmp_path / "gone.jsonl.gz"]
    assert sorted(p for group in task_groups(paths, 100) for p in group) == sorted(paths)


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.integers(min_value=0, max_value=300), min_size=1, max_size=25),
       task_bytes=st.integers(min_value=1, max_value=500))
def test_every_file_once_and_no_task_above_the_size(sizes: list[int], task_bytes: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        paths = files_of(Path(directory), sizes)
        groups = task_groups(paths, task_bytes)
        handed = [p for group in groups for p in group]
        assert sorted(handed) == sorted(paths)
        size = {p: p.stat().st_size for p in paths}
        assert [size[p] for p in handed] == sorted(sizes, reverse=True)
        for group in groups:
            assert len(group) == 1 or sum(size[p] for p in group) <= task_bytes
