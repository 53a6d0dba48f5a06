"""The real OONI measurements of ../shared/data, re-packed in tmp into OONI's raw layout,
through `process` on a 2-worker LocalCluster: same rows as one process, and the verdict of every
row is the one the analysers give the measurement directly."""

from __future__ import annotations

import gzip
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import duckdb
import pytest

from censorwatch.analysis import analyse
from censorwatch.distributed.process import process_single, process_tree
from censorwatch.model.measurement import measurement_uid, parse_time
from censorwatch.store.schema import PART_COLUMNS as COLUMN_NAMES

pytestmark = [pytest.mark.integration, pytest.mark.shared_data]


def raw_tree(shared_data: Path, root: Path) -> dict[str, dict[str, Any]]:
    groups: dict[Path, list[str]] = defaultdict(list)
    by_uid: dict[str, dict[str, Any]] = {}
    for path in sorted((shared_data / "ooni" / "measurements").glob("*.json")):
        value = json.loads(path.read_text())
        if not isinstance(value, dict) or not value.get("test_name"):
            continue
        started = parse_time(value.get("measurement_start_time"))
        day = started.strftime("%Y%m%d") if started else "20000101"
        cc = str(value.get("probe_cc") or "ZZ")
        folder = root / "raw" / day / "00" / cc / str(value["test_name"]).replace("_", "")
        line = json.dumps(value)
        groups[folder].append(line)
        by_uid[measurement_uid(value, line.encode())] = value
    for folder, lines in groups.items():
        folder.mkdir(parents=True, exist_ok=True)
        with gzip.open(folder / "part.n0.0.jsonl.gz", "wt", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
    return by_uid


def rows(out: Path) -> list[tuple[Any, ...]]:
    query = f"SELECT {', '.join(COLUMN_NAMES)} FROM read_parquet(?, hive_partitioning = false) ORDER BY measurement_uid"
    return duckdb.connect().execute(query, [str(out / "**" / "*.parquet")]).fetchall()


def test_real_measurements_on_local_cluster(shared_data: Path, tmp_path: Path) -> None:
    by_uid = raw_tree(shared_data, tmp_path)
    single = process_single(tmp_path / "raw", tmp_path / "single")
    dask = process_tree(tmp_path / "raw", tmp_path / "dask", "local", 2)
    expected = rows(tmp_path / "single")
    assert rows(tmp_path / "dask") == expected
    assert dask.written == single.written == len(expected) == len(by_uid)
    uid, verdict, reason = (COLUMN_NAMES.index(n) for n in ("measurement_uid", "verdict", "reason"))
    for row in expected:
        direct = analyse(by_uid[row[uid]])
        assert (row[verdict], row[reason]) == (direct.verdict, direct.reason)


@pytest.mark.parametrize("raw", ["link", "copy"])
def test_real_measurements_linked_read_back_byte_for_byte(shared_data: Path, tmp_path: Path, raw: str) -> None:
    """--raw link|copy on the real files: `ingest parquet` keeps the input files as cans and every
    measurement reads back exactly as the line the tree holds, with the verdict of embedded parts."""
    from censorwatch.sources.parquet import load_parquet
    from censorwatch.store import Store

    by_uid = raw_tree(shared_data, tmp_path)
    lines = {
        measurement_uid(json.loads(line), line.encode()): line.encode()
        for path in (tmp_path / "raw").rglob("*.jsonl.gz")
        for line in gzip.decompress(path.read_bytes()).decode().splitlines()
    }
    process_tree(tmp_path / "raw", tmp_path / "linked", "local", 2, raw=raw)
    process_single(tmp_path / "raw", tmp_path / "embedded", raw="embed")
    with Store(tmp_path / "s.duckdb") as store:
        loaded = load_parquet(store, tmp_path / "linked")
        assert (loaded.stored, loaded.skipped) == (len(by_uid), {})
        stored = {row["measurement_uid"]: row for row in store.iter_measurements()}
    assert {uid: bytes(row["raw"]) for uid, row in stored.items()} == lines
    uid, verdict, reason = (COLUMN_NAMES.index(n) for n in ("measurement_uid", "verdict", "reason"))
    for row in rows(tmp_path / "embedded"):
        assert (stored[row[uid]]["verdict"], stored[row[uid]]["reason"]) == (row[verdict], row[reason])
