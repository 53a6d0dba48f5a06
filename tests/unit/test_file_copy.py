"""file_copy.copy_whole: the kernel's copy_file_range, and shutil's copy where it is refused."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from censorwatch import file_copy
from censorwatch.file_copy import copy_whole


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "in.jsonl.gz"
    path.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    return path


def test_the_copy_is_the_file_and_replaces_a_longer_one(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.write_bytes(b"x" * (5 * 1024 * 1024))
    copy_whole(source, target)
    assert target.read_bytes() == source.read_bytes()


@pytest.mark.parametrize("refusal", [errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP])
def test_where_the_kernel_refuses_shutil_copies_from_the_start(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, refusal: int
) -> None:
    real = os.copy_file_range
    calls: list[int] = []

    def partly(src: int, dst: int, count: int) -> int:
        calls.append(count)
        if len(calls) == 1:
            return real(src, dst, 4096)  # some bytes, then the refusal
        raise OSError(refusal, os.strerror(refusal))

    monkeypatch.setattr(file_copy.os, "copy_file_range", partly)
    target = tmp_path / "out"
    copy_whole(source, target)
    assert len(calls) == 2
    assert target.read_bytes() == source.read_bytes()


def test_a_failing_disk_is_an_error_not_a_fallback(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(src: int, dst: int, count: int) -> int:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(file_copy.os, "copy_file_range", failing)
    with pytest.raises(OSError, match="Input/output"):
        copy_whole(source, tmp_path / "out")


def test_a_missing_source_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        copy_whole(tmp_path / "gone", tmp_path / "out")
