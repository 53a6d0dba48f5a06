"""A stop DuckDB swallowed (cli/stop_signals.py) ends `ingest parquet`, `reanalyse` and `ingest
registry-ru` at their next safe point, as their commands wire them, and what was stored before
stays stored: the next run goes on. Real SIGINTs to this process, a real DuckDB."""

from __future__ import annotations

import gzip
import json
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from censorwatch.cli.stop_signals import STOPS
from censorwatch.distributed.process import process_single
from censorwatch.sources.ingest import ingest_files as ingest_ooni_files
from censorwatch.sources.parquet import load_parquet
from censorwatch.sources.reanalysis import reanalyse
from censorwatch.sources.registry_ingest import ingest_files as ingest_registry_files
from censorwatch.store import Store
from censorwatch.store.registry import RegistryStore
from tests.integration.test_process_dask import measurement
from tests.integration.test_registry_cli import write_dump
from tests.unit.test_stop_signals import _swallowed_stop

pytestmark = pytest.mark.integration


def _tree(root: Path, files: int, per_file: int) -> Path:
    for number in range(files):
        folder = root / "raw" / "20240301" / f"{number:02d}" / "RU" / "telegram"
        folder.mkdir(parents=True)
        lines = [json.dumps(measurement(100 * number + n, "telegram", "RU", "2024-03-01")) for n in range(per_file)]
        (folder / f"f{number}.jsonl.gz").write_bytes(gzip.compress("\n".join(lines).encode()))
    return root / "raw"


def _stopping_after(calls: int, seen: list[int]) -> Callable[[int], None]:
    def advance(count: int) -> None:
        seen.append(count)
        if len(seen) == calls:
            _swallowed_stop(STOPS)

    return advance


def test_ingest_parquet_stops_after_a_linked_file_and_the_next_load_goes_on(tmp_path: Path) -> None:
    process_single(_tree(tmp_path, 3, 4), tmp_path / "parts", raw="link")
    seen: list[int] = []
    db = tmp_path / "s.duckdb"
    with STOPS.catching(signal.SIGINT), Store(db) as store, pytest.raises(KeyboardInterrupt):
        load_parquet(store, tmp_path / "parts", on_file=STOPS.then_check(_stopping_after(1, seen)))
    assert seen == [1]
    with Store(db) as store:
        assert store.count() == 4  # the first file's rows, committed with their can
        again = load_parquet(store, tmp_path / "parts")
        assert (again.stored, again.duplicates, store.count()) == (8, 4, 12)


def test_reanalyse_stops_at_the_next_measurement(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    with Store(db) as store:
        ingest_ooni_files(store, [_tree(tmp_path, 2, 5)])
    seen: list[int] = []
    with STOPS.catching(signal.SIGINT), Store(db) as store, pytest.raises(KeyboardInterrupt):
        reanalyse(store, on_progress=STOPS.then_check(_stopping_after(3, seen)))
    assert seen == [1, 1, 1]  # no measurement judged after the stop
    with Store(db) as store:
        assert reanalyse(store).read == 10


def test_ingest_registry_stops_and_rolls_back_the_snapshot(tmp_path: Path) -> None:
    lines = [f"10.0.{i // 250}.{i % 250};site{i}.example;;суд;k-{i};2016-06-19" for i in range(2500)]
    dump = write_dump(tmp_path / "dump.csv", "2016-06-20 10:00:00", lines)
    seen: list[int] = []
    with STOPS.catching(signal.SIGINT), Store(tmp_path / "s.duckdb") as store:
        stopping = STOPS.then_check(_stopping_after(1, seen))
        with pytest.raises(KeyboardInterrupt):
            ingest_registry_files(store.con, [dump], None, False, on_progress=stopping)
        assert seen == [1000]  # the reader counts entries a thousand at a time
        assert RegistryStore(store.con).snapshots() == []
        report = ingest_registry_files(store.con, [dump], None, False)
        assert [day.isoformat() for day in RegistryStore(store.con).snapshots()] == ["2016-06-20"]
        assert report.snapshots
