"""DuckDB holds the parts of the measurement uids' primary-key index that a run touches in memory:
all of it when uids arrive in random order, as here (bench/bench_store_memory.py compares OONI's
time order). When a run reaches the writer's memory limit, the store says what happened and what
to do (StoreError, shown without a traceback), the batch that met the limit leaves nothing
behind, and the run can be resumed with a larger limit."""

from __future__ import annotations

from pathlib import Path

import pytest

from censorwatch.analysis.record import analysed_record
from censorwatch.store import Store, StoredMeasurement
from censorwatch.store.connection import StoreError

SMALL = "40MB"  # about 340,000 OONI-shaped uids fit in one session (DuckDB 2.0)
BATCH = 2000


def measurements(start: int, count: int) -> list[StoredMeasurement]:
    return [
        analysed_record(
            {"measurement_uid": f"20240301000000.{i:06d}_RU_webconnectivity_{i:032x}", "test_name": "telegram",
             "probe_cc": "RU", "probe_asn": "AS1", "measurement_start_time": "2024-03-01 00:00:00",
             "test_keys": {}},
            "ooni",
        )
        for i in range(start, start + count)
    ]


def fill(store: Store, rows: int) -> None:
    """Rows with OONI-shaped uids, quickly (SQL), in this session: their index stays in memory."""
    for start in range(0, rows, 20_000):
        store.con.execute(
            "INSERT INTO measurements (measurement_uid, test_name, probe_cc, probe_asn, source) "
            "SELECT '20240301000000.000000_RU_webconnectivity_' || md5(i::VARCHAR), 'x', 'RU', 'AS1', 'ooni' "
            f"FROM range({start}, {start + 20_000}) t(i)"
        )


def test_a_batch_that_meets_the_memory_limit_is_refused_whole_and_the_run_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "s.duckdb"
    monkeypatch.setenv("CENSORWATCH_DB_MEMORY", SMALL)
    added = 0
    with Store(db) as store:
        fill(store, 280_000)
        with pytest.raises(StoreError) as raised:
            while added < 1_000_000:  # the limit comes long before
                added += store.add(measurements(added, BATCH), batch_size=BATCH)
        assert added > 0  # some batches went in before the limit
        message = str(raised.value)
        assert f"CENSORWATCH_DB_MEMORY={SMALL}" in message and "run the same command again" in message
    monkeypatch.delenv("CENSORWATCH_DB_MEMORY")
    with Store(db) as store:
        assert store.count() == 280_000 + added  # every batch before the failing one, none of it
        assert store.add(measurements(0, added + BATCH), batch_size=BATCH) == BATCH
        assert store.count() == 280_000 + added + BATCH


def test_ingest_parquet_meets_the_limit_the_same_way(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CENSORWATCH_DB_MEMORY", SMALL)
    columns = ("measurement_uid", "test_name", "probe_cc", "probe_asn", "source")
    select = "SELECT 'u' || md5(i::VARCHAR), 'x', 'RU', 'AS1', 'ooni' FROM range(?, ?) t(i)"
    with Store(tmp_path / "s.duckdb") as store, pytest.raises(StoreError, match="ran out of memory"):
        for start in range(0, 5_000_000, 20_000):
            store.insert_selected(columns, select, [start, start + 20_000])


def test_the_cli_shows_the_message_without_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    import censorwatch.cli.main as cli_main

    def out_of_memory(*args: object, **kwargs: object) -> None:
        raise StoreError("the store ran out of memory (CENSORWATCH_DB_MEMORY=40MB): ...")

    monkeypatch.setattr("censorwatch.cli.ingest_ooni_cmd.ingest_files", out_of_memory)
    line = tmp_path / "m.jsonl"
    line.write_text('{"measurement_uid": "u", "test_name": "telegram", "test_keys": {}}\n')
    monkeypatch.setattr(sys, "argv", ["censorwatch", "ingest", "ooni", str(line), "--db", str(tmp_path / "s.duckdb")])
    with pytest.raises(SystemExit) as exited:
        cli_main.main()
    assert exited.value.code == 2
    said = capsys.readouterr()
    assert "ran out of memory" in said.err and "Traceback" not in said.err + said.out
