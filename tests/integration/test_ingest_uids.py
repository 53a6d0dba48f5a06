"""The uid of a measurement that carries none (OONI's raw files carry none): BLAKE3 of its JSON
exactly as received, so that ingesting it again stores nothing and `b3sum` of an exported line
gives its uid's suffix. `process` derives the same uids as `ingest ooni`."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import duckdb
import orjson
import pytest
from blake3 import blake3
from typer.testing import CliRunner

from censorwatch.cli.main import app
from censorwatch.distributed.process import process_single
from censorwatch.model.measurement import measurement_uid, meta_of
from censorwatch.sources.ingest import ingest_files
from censorwatch.sources.parquet import load_parquet
from censorwatch.store import Store
from tests.integration.test_process_dask import measurement

pytestmark = pytest.mark.integration

PER_FILE = 20


def raw_line(i: int, test: str, cc: str) -> str:
    """A measurement as a line of OONI's raw files: without a uid."""
    value = measurement(i, test, cc, "2024-03-01")
    del value["measurement_uid"]
    return json.dumps(value)


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, list[str]]:
    """raw/YYYYMMDD/HH/CC/testname/*.jsonl.gz of measurements without uids; returns the lines."""
    every: list[str] = []
    for cc in ("RU", "IR"):
        for test in ("telegram", "web_connectivity"):
            folder = tmp_path / "in" / "raw" / "20240301" / "00" / cc / test.replace("_", "")
            folder.mkdir(parents=True)
            lines = [raw_line(i, test, cc) for i in range(PER_FILE)]
            (folder / f"2024_{cc}_{test}.n0.0.jsonl.gz").write_bytes(gzip.compress("\n".join(lines).encode() + b"\n"))
            every += lines
    return tmp_path / "in" / "raw", every


def _uids(db: Path) -> set[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {row[0] for row in con.execute("SELECT measurement_uid FROM measurements").fetchall()}


def _expected(lines: list[str]) -> set[str]:
    return {measurement_uid(json.loads(line), line.encode()) for line in lines}


def test_a_uid_is_the_blake3_of_the_json_as_received() -> None:
    line = raw_line(1, "telegram", "RU").encode()
    value = json.loads(line)
    suffix = blake3(line).hexdigest()[:32]  # what `b3sum` prints for the line
    assert measurement_uid(value, line) == f"20240301010000_RU_telegram_{suffix}"
    assert meta_of(value, memoryview(line)).measurement_uid.endswith(suffix)
    # Another serialisation of the same measurement is another uid.
    assert measurement_uid(value, json.dumps(value, indent=2).encode()) != measurement_uid(value, line)
    # Without the bytes: those analysis/record.py stores for it.
    assert measurement_uid(value) == measurement_uid(value, orjson.dumps(value))
    assert measurement_uid({**value, "measurement_uid": "given"}, line) == "given"


def test_ingesting_again_stores_nothing(tree: tuple[Path, list[str]], tmp_path: Path) -> None:
    raw, lines = tree
    db = tmp_path / "s.duckdb"
    with Store(db) as store:
        assert ingest_files(store, [raw]).stored == len(lines)
    with Store(db) as store:
        again = ingest_files(store, [raw], reread=True)  # every line again, not skipped as a read file
        assert (again.stored, again.duplicates) == (0, len(lines))
    assert _uids(db) == _expected(lines)


def test_parts_carry_the_uids_ingest_derives(tree: tuple[Path, list[str]], tmp_path: Path) -> None:
    raw, lines = tree
    process_single(raw, tmp_path / "parts")
    with Store(tmp_path / "s.duckdb") as store:
        assert load_parquet(store, tmp_path / "parts").stored == len(lines)
        again = ingest_files(store, [raw])
        assert (again.stored, again.duplicates) == (0, len(lines))
    assert _uids(tmp_path / "s.duckdb") == _expected(lines)


def test_blake3_of_an_exported_line_gives_its_uid(tree: tuple[Path, list[str]], tmp_path: Path) -> None:
    """What README promises a reader: `export measurements` writes each line of a raw file as it
    was received, and the first 32 hex digits of its BLAKE3 (`b3sum`) end its uid in `export verdicts`."""
    raw, lines = tree
    db = str(tmp_path / "s.duckdb")
    assert CliRunner().invoke(app, ["ingest", "ooni", str(raw), "--db", db]).exit_code == 0
    exported = CliRunner().invoke(app, ["export", "measurements", "--db", db])
    verdicts = CliRunner().invoke(app, ["export", "verdicts", "--db", db, "--format", "jsonl"])
    assert exported.exit_code == verdicts.exit_code == 0
    assert sorted(exported.stdout.splitlines()) == sorted(lines)
    suffixes = {json.loads(row)["measurement_uid"].rsplit("_", 1)[1] for row in verdicts.stdout.splitlines()}
    assert suffixes == {blake3(line.encode()).hexdigest()[:32] for line in exported.stdout.splitlines()}

