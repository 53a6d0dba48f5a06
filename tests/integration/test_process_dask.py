"""`process` on a LocalCluster of 2 workers gives exactly the single-process output, and
`ingest parquet` loads it idempotently. The raw-layout trees are built here in tmp."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from censorwatch.cli.main import app
from censorwatch.distributed import results
from censorwatch.distributed.process import ProcessError, process_single, process_tree
from censorwatch.distributed.task_groups import task_groups
from censorwatch.sources.parquet import ParquetSourceError, load_parquet
from censorwatch.store import Store
from censorwatch.store.schema import PART_COLUMNS as COLUMN_NAMES

pytestmark = pytest.mark.integration

TESTS = ("telegram", "web_connectivity", "vanilla_tor")


def measurement(i: int, test: str, cc: str, day: str) -> dict[str, Any]:
    keys: dict[str, Any] = {
        "telegram": {
            "tcp_connect": [
                {
                    "ip": "149.154.175.50",
                    "port": 443,
                    "status": {"success": i % 3 != 0, "failure": None if i % 3 else "connection_reset"},
                }
            ]
        },
        "web_connectivity": {"blocking": "dns" if i % 2 else False, "accessible": i % 2 == 0},
        "vanilla_tor": {"tor_progress": 100 if i % 2 else 5, "tor_logs": []},
    }[test]
    return {
        "measurement_uid": f"{day.replace('-', '')}_{cc}_{test}_{i:06d}",
        "test_name": test,
        "probe_cc": cc,
        "probe_asn": f"AS{i % 4 + 1}",
        "input": f"https://site{i % 5}.example/" if test == "web_connectivity" else None,
        "measurement_start_time": f"{day} 0{i % 10}:00:00",
        "report_id": f"r{i}",
        "test_keys": keys,
    }


def write_tree(root: Path, per_file: int = 25) -> int:
    """raw/YYYYMMDD/HH/CC/testname/*.jsonl.gz with a few broken lines; returns the good count."""
    good = 0
    n = 0
    for day in ("2024-03-01", "2024-03-02"):
        for cc in ("RU", "IR"):
            for test in TESTS:
                folder = root / "raw" / day.replace("-", "") / "00" / cc / test.replace("_", "")
                folder.mkdir(parents=True, exist_ok=True)
                lines = []
                for _ in range(per_file):
                    lines.append(json.dumps(measurement(n, test, cc, day)))
                    n += 1
                    good += 1
                lines += ["{not json", json.dumps([1, 2]), json.dumps({"probe_cc": "RU"})]
                with gzip.open(folder / f"2024_{cc}_{test}.n0.0.jsonl.gz", "wt") as handle:
                    handle.write("\n".join(lines) + "\n")
    return good


def rows(out: Path) -> list[tuple[Any, ...]]:
    query = f"SELECT {', '.join(COLUMN_NAMES)} FROM read_parquet(?, hive_partitioning = false) ORDER BY measurement_uid"
    return duckdb.connect().execute(query, [str(out / "**" / "*.parquet")]).fetchall()


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int]]:
    root = tmp_path_factory.mktemp("tree")
    yield root, write_tree(root)


@pytest.mark.parametrize("raw", ["copy", "embed"])  # copy: the default
def test_local_cluster_equals_single_process(tree: tuple[Path, int], tmp_path: Path, raw: str) -> None:
    root, good = tree
    single = process_single(root / "raw", tmp_path / "single", raw=raw)
    dask = process_tree(root / "raw", tmp_path / "dask", "local", 2, raw=raw)
    assert (single.files, single.written, single.parts) == (12, good, 12)
    assert (dask.files, dask.written, dask.parts) == (single.files, single.written, single.parts)
    assert dask.skipped == single.skipped and sum(single.skipped.values()) == 36
    expected = rows(tmp_path / "single")
    assert len(expected) == good
    assert rows(tmp_path / "dask") == expected
    partitions = {p.parent.relative_to(tmp_path / "dask").as_posix() for p in (tmp_path / "dask").rglob("*.parquet")}
    assert "test_name=telegram/probe_cc=RU/date=2024-03-01" in partitions
    assert len(partitions) == 12
    verdicts = {row[COLUMN_NAMES.index("verdict")] for row in expected}
    assert {"ok", "anomaly"} <= verdicts
    frames = {row[COLUMN_NAMES.index("raw_zstd")] is not None for row in expected}
    assert frames == {raw == "embed"}


def test_small_files_sharing_tasks_give_the_same_output(tree: tuple[Path, int], tmp_path: Path) -> None:
    """--files-per-task: small files share tasks, each still with its own parts and mark."""
    root, good = tree
    files = sorted((root / "raw").rglob("*.jsonl.gz"))
    assert [len(group) for group in task_groups(files, 5)] == [5, 5, 2]
    single = process_single(root / "raw", tmp_path / "single")
    shared = process_tree(root / "raw", tmp_path / "shared", "local", 2, files_per_task=5)
    assert (shared.files, shared.written, shared.parts, shared.skipped) == (
        single.files, single.written, single.parts, single.skipped
    )
    assert rows(tmp_path / "shared") == rows(tmp_path / "single")
    again = process_tree(root / "raw", tmp_path / "shared", "local", 2, files_per_task=5)
    assert (again.files, again.reused_files, again.reused_written) == (0, 12, good)
    result = CliRunner().invoke(
        app, ["process", str(root / "raw"), "--out", str(tmp_path / "cli"), "--files-per-task", "8", "--workers", "2"]
    )
    assert result.exit_code == 0, result.output
    assert f"measurements written: {good}" in result.stderr
    assert rows(tmp_path / "cli") == rows(tmp_path / "single")


def test_many_small_files_alone_bring_a_hint(
    tree: tuple[Path, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, _ = tree
    monkeypatch.setattr(results, "SMALL_FILES_HINT", 12)
    alone = process_tree(root / "raw", tmp_path / "alone", "local", 2, processes=False)
    assert alone.small_files_alone == 12
    assert "12 files under 1 MB each had a Dask task of its own" in " ".join(alone.summary_lines())
    shared = process_tree(root / "raw", tmp_path / "shared", "local", 2, processes=False, files_per_task=8)
    assert shared.small_files_alone == 0
    assert "--files-per-task" not in " ".join(shared.summary_lines())


def test_ingest_parquet_is_idempotent(tree: tuple[Path, int], tmp_path: Path) -> None:
    root, good = tree
    process_single(root / "raw", tmp_path / "out")
    with Store(tmp_path / "s.duckdb") as store:
        first = load_parquet(store, tmp_path / "out")
        second = load_parquet(store, tmp_path / "out", reread=True)  # every row again
        assert (first.rows, first.stored) == (good, good)
        assert (second.stored, second.duplicates) == (0, good)
        third = load_parquet(store, tmp_path / "out")  # the parts were read whole: none again
        assert (third.parts, third.rows, third.parts_read_before, third.rows_read_before) == (0, 0, 12, good)
        stored = store.con.execute(
            f"SELECT {', '.join(COLUMN_NAMES)} FROM measurements ORDER BY measurement_uid"
        ).fetchall()
    assert stored == rows(tmp_path / "out")


def test_rerun_overwrites_its_own_parts(tree: tuple[Path, int], tmp_path: Path) -> None:
    root, good = tree
    process_single(root / "raw", tmp_path / "out")
    process_single(root / "raw", tmp_path / "out")
    assert len(rows(tmp_path / "out")) == good
    assert not list((tmp_path / "out").rglob(".*.tmp"))


@pytest.mark.parametrize("raw", ["embed", "link", "copy"])
def test_cli_process_then_ingest(tree: tuple[Path, int], tmp_path: Path, raw: str) -> None:
    root, good = tree
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["process", str(root / "raw"), "--out", str(tmp_path / "p"), "--cluster", "local", "--workers", "2",
         "--raw", raw],
    )
    assert result.exit_code == 0, result.output
    assert f"measurements written: {good}" in result.stderr
    assert "skipped records: 36" in result.stderr
    said = " ".join(result.stderr.split())  # the console wraps long lines
    assert ("until `censorwatch ingest parquet" in said) == (raw == "link")
    assert ("input files kept in the output directory: 12 (12 as hard links)" in said) == (raw == "copy")
    db = tmp_path / "c.duckdb"
    result = runner.invoke(app, ["ingest", "parquet", str(tmp_path / "p"), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert f"stored: {good}" in result.stderr
    assert ("input files kept for linked rows: 12" in result.stderr) == (raw != "embed")
    result = runner.invoke(app, ["ingest", "parquet", str(tmp_path / "p"), "--db", str(db)])
    said = " ".join(result.stderr.split())
    assert result.exit_code == 0 and "parts: 0, rows: 0, stored: 0" in said
    assert f"not read again: 12 ({good} rows; --reread reads them again)" in said
    result = runner.invoke(app, ["ingest", "parquet", str(tmp_path / "p"), "--db", str(db), "--reread"])
    assert "stored: 0" in result.stderr and f"already stored: {good}" in result.stderr


def test_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ProcessError, match="does not exist"):
        process_single(tmp_path / "nope", tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ProcessError, match="no measurement files"):
        process_single(tmp_path / "empty", tmp_path / "out")
    with Store(tmp_path / "s.duckdb") as store, pytest.raises(ParquetSourceError, match="no Parquet"):
        load_parquet(store, tmp_path / "empty")
    result = CliRunner().invoke(app, ["process", str(tmp_path), "--out", str(tmp_path / "o"), "--cluster", "udp://x"])
    assert result.exit_code == 2


def test_parts_of_an_older_version_are_refused_clearly(tmp_path: Path) -> None:
    # Parts of schema version 1 held the raw JSON as text in `raw`, and recorded no version.
    old = tmp_path / "old" / "test_name=x" / "probe_cc=RU" / "date=2026-01-01"
    old.mkdir(parents=True)
    columns = [name for name in COLUMN_NAMES if name != "raw_zstd"] + ["raw"]
    select = ", ".join(f"'v' AS {name}" for name in columns)
    duckdb.connect().execute(f"COPY (SELECT {select}) TO '{old / 'part-1.parquet'}' (FORMAT parquet)")
    with Store(tmp_path / "s.duckdb") as store:
        with pytest.raises(ParquetSourceError, match="another build of censorwatch"):
            load_parquet(store, tmp_path / "old")
        assert store.count() == 0


def test_unreachable_scheduler(tree: tuple[Path, int], tmp_path: Path) -> None:
    root, _ = tree
    with pytest.raises(ProcessError, match="cannot reach"):
        process_tree(root / "raw", tmp_path / "o", "tcp://127.0.0.1:9", connect_timeout="1s")


def test_hostile_partition_values_stay_inside_out_dir(tmp_path: Path) -> None:
    folder = tmp_path / "raw" / "20240301" / "00" / "XX" / "evil"
    folder.mkdir(parents=True)
    hostile = {
        "measurement_uid": "u1",
        "test_name": "../../escape",
        "probe_cc": "a/b=c",
        "probe_asn": "AS1",
        "measurement_start_time": "not a time",
        "test_keys": {},
    }
    (folder / "x.jsonl").write_text(json.dumps(hostile) + "\n")
    stats = process_single(tmp_path / "raw", tmp_path / "out")
    assert stats.written == 1
    parts = list((tmp_path / "out").rglob("*.parquet"))
    assert len(parts) == 1
    assert parts[0].resolve().is_relative_to((tmp_path / "out").resolve())
    assert parts[0].parent.relative_to(tmp_path / "out").as_posix() == "test_name=.._.._escape/probe_cc=A_B_C/date=none"
    assert rows(tmp_path / "out")[0][COLUMN_NAMES.index("test_name")] == "../../escape"
    with Store(tmp_path / "s.duckdb") as store:
        assert load_parquet(store, tmp_path / "out").stored == 1
        assert store.con.execute("SELECT test_name, probe_cc FROM measurements").fetchall() == [
            ("../../escape", "A/B=C")
        ]


def test_partitions_prune_for_hive_readers(tree: tuple[Path, int], tmp_path: Path) -> None:
    root, _ = tree
    process_single(root / "raw", tmp_path / "out")
    count = (
        duckdb.connect()
        .execute(
            "SELECT count(*) FROM read_parquet(?, hive_partitioning = true) "
            "WHERE probe_cc = 'IR' AND date = '2024-03-02'",
            [str(tmp_path / "out" / "**" / "*.parquet")],
        )
        .fetchone()
    )
    assert count == (75,)


def test_scheduler_address(tree: tuple[Path, int], tmp_path: Path) -> None:
    """--cluster tcp://HOST:PORT: a scheduler started separately on loopback, as on a real cluster."""
    from dask.distributed import LocalCluster

    root, good = tree
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, protocol="tcp", dashboard_address=None, host="127.0.0.1"
    ) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://127.0.0.1:")
        stats = process_tree(root / "raw", tmp_path / "remote", address)
    assert stats.written == good
    process_single(root / "raw", tmp_path / "single")
    assert rows(tmp_path / "remote") == rows(tmp_path / "single")


def test_local_cluster_workers_are_configured_for_streaming() -> None:
    """Dask's nanny would set MALLOC_TRIM_THRESHOLD_, which costs the line reader's large buffers
    a page fault per page on every read, and start a sampling profiler; our local cluster does
    neither (LOCAL_CLUSTER_CONFIG)."""
    import os

    import dask
    from dask.distributed import Client

    from censorwatch.distributed.process import start_local_cluster

    def worker_settings() -> tuple[str | None, object, object]:
        return (
            os.environ.get("MALLOC_TRIM_THRESHOLD_"),
            dask.config.get("distributed.worker.profile.enabled"),
            dask.config.get("distributed.admin.tick.interval"),
        )

    cluster = start_local_cluster(2)
    try:
        with Client(cluster) as client:
            settings = client.run(worker_settings)
    finally:
        cluster.close()
    assert len(settings) == 2
    for trim, profiling, tick in settings.values():
        assert trim == os.environ.get("MALLOC_TRIM_THRESHOLD_")  # the user's own setting, or none
        assert profiling is False
        assert tick == "1s"
