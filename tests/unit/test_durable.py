"""written_whole: the target is replaced by a complete file or not touched at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from censorwatch.durable import replace_durably, written_whole


def test_target_replaced_only_when_the_block_completes(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), written_whole(target) as temporary:
        temporary.write_bytes(b"half")
        raise RuntimeError("killed half way")
    assert target.read_bytes() == b"old"
    assert list(tmp_path.iterdir()) == [target]  # no temporary left behind

    with written_whole(target) as temporary:
        assert temporary != target and temporary.parent == target.parent
        temporary.write_bytes(b"new")
    assert target.read_bytes() == b"new"
    assert list(tmp_path.iterdir()) == [target]


def test_replace_durably_writes_through_the_same_mechanism(tmp_path: Path) -> None:
    target = tmp_path / "entry"
    replace_durably(tmp_path / "entry.tmp", target, b"data")
    assert target.read_bytes() == b"data"
    assert list(tmp_path.iterdir()) == [target]
