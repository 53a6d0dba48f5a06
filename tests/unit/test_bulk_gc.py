"""Bulk jobs run with a slower cycle collector and give the old pace back, even on error."""

from __future__ import annotations

import gc
import weakref

import pytest

from censorwatch.bulk_gc import BULK_GC_THRESHOLD, fewer_collections


def test_threshold_raised_inside_and_restored_after_an_error() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), fewer_collections():
        assert gc.get_threshold() == (max(BULK_GC_THRESHOLD, before[0]), *before[1:])
        raise RuntimeError("a bulk job that fails")
    assert gc.get_threshold() == before


def test_cycles_are_still_collected_during_a_bulk_job() -> None:
    """Slower, not off: a cycle made early in a job is freed without anyone calling gc.collect."""

    class Node:
        other: object = None

    def cycle() -> weakref.ref[Node]:
        a, b = Node(), Node()
        a.other, b.other = b, a
        return weakref.ref(a)

    gc.collect()
    with fewer_collections():
        first = cycle()
        for _ in range(BULK_GC_THRESHOLD):  # two tracked objects each: past the threshold
            cycle()
        assert first() is None
