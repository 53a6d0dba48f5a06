"""A store or Parquet parts written by another build of censorwatch (another schema version,
which may derive other uids or lack columns) are refused with a message that says to ingest again,
and nothing stored is changed: nothing has been released, so there is no upgrade."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from censorwatch.cli.main import app
from censorwatch.distributed.process import process_single
from censorwatch.sources.ingest import ingest_files
from censorwatch.sources.parquet import ParquetSourceError, load_parquet
from censorwatch.store import Store
from censorwatch.store.cans import cans_directory
from censorwatch.store.connection import StoreError
from censorwatch.store.schema import PART_VERSION_KEY, SCHEMA_VERSION
from tests.integration.test_process_dask import write_tree

pytestmark = pytest.mark.integration


def snapshot(*roots: Path) -> dict[str, str]:
    """Every file under (or at) the roots, by path, with a digest of its bytes."""
    files = [path for root in roots for path in ([root] if root.is_file() else sorted(root.rglob("*")))]
    return {str(path): hashlib.sha256(path.read_bytes()).hexdigest() for path in files if path.is_file()}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    write_tree(tmp_path / "in", per_file=5)
    return tmp_path / "in" / "raw"


def _current(db: Path, tree: Path) -> int:
    """A store of this version with its cans, and a stray file in the cans' directory that a
    writable open would sweep away."""
    with Store(db) as store:
        stored = ingest_files(store, [tree]).stored
    (cans_directory(db) / "stray.jsonl.gz").write_bytes(b"not listed in the cans table")
    return stored


def _version(value: str | None) -> Callable[[duckdb.DuckDBPyConnection], None]:
    def doctor(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("DELETE FROM schema_info WHERE key = 'version'")
        if value is not None:
            con.execute("INSERT INTO schema_info VALUES ('version', ?)", [value])
    return doctor


def _build_3_by_sorted_json(con: duckdb.DuckDBPyConnection) -> None:
    _version("3")(con)
    con.execute("INSERT INTO schema_info VALUES ('uid_scheme', 'sha256-sorted-json')")


def _build_1(con: duckdb.DuckDBPyConnection) -> None:
    """Version 1 kept the JSON as text in `raw`."""
    _version("1")(con)
    con.execute("ALTER TABLE measurements ADD COLUMN raw VARCHAR")
    for column in ("raw_zstd", "raw_can", "raw_offset", "raw_length"):
        con.execute(f"ALTER TABLE measurements DROP COLUMN {column}")
    con.execute("DROP TABLE cans")


OTHER_BUILDS = {
    "version 1, JSON as text": (_build_1, "has schema version 1"),
    "version 3, sorted-JSON uids": (_build_3_by_sorted_json, "has schema version 3"),
    "version 3, BLAKE3 uids": (_version("3"), "has schema version 3"),
    "no version recorded": (_version(None), "records no schema version"),
    "a later version": (_version("5"), "has schema version 5"),
}


@pytest.mark.parametrize("build", sorted(OTHER_BUILDS))
def test_a_store_of_another_build_is_refused_and_left_as_it_was(tree: Path, tmp_path: Path, build: str) -> None:
    doctor, said = OTHER_BUILDS[build]
    db = tmp_path / "s.duckdb"
    _current(db, tree)
    con = duckdb.connect(str(db))
    doctor(con)
    con.close()
    before = snapshot(tmp_path)
    for read_only in (False, True):
        with pytest.raises(StoreError) as refused:
            Store(db, read_only=read_only)
        message = str(refused.value)
        assert message.startswith(f"{db} was written by another build of censorwatch: it {said}")
        assert f"only version {SCHEMA_VERSION}" in message and "ingest the measurements again" in message
    assert snapshot(tmp_path) == before


def test_the_cli_says_so_without_a_traceback(tree: Path, tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    _current(db, tree)
    con = duckdb.connect(str(db))
    _build_3_by_sorted_json(con)
    con.close()
    before = snapshot(tmp_path)
    for command in (["ingest", "ooni", str(tree)], ["export", "verdicts"]):
        result = subprocess.run([sys.executable, "-m", "censorwatch", *command, "--db", str(db)],
                                capture_output=True, text=True, timeout=120)
        said = " ".join(result.stderr.split())  # as one line, whatever the terminal's width
        assert result.returncode == 2, result.stderr
        assert said.startswith("error: ") and "Traceback" not in said
        assert "has schema version 3" in said and "ingest the measurements again into a new store" in said
    assert snapshot(tmp_path) == before


def test_a_current_store_opens_and_an_empty_file_becomes_one(tree: Path, tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    stored = _current(db, tree)
    with Store(db, read_only=True) as reader:
        assert reader.count() == stored
    duckdb.connect(str(tmp_path / "empty.duckdb")).close()
    with Store(tmp_path / "empty.duckdb") as store:
        assert store.con.execute("SELECT value FROM schema_info WHERE key = 'version'").fetchall() == [
            (SCHEMA_VERSION,)
        ]


def _rewrite(part: Path, metadata: dict[str, str] | None, tmp_path: Path) -> None:
    """The part as another build wrote it: its rows with other key-value metadata."""
    pairs = ", ".join(f"'{key}': '{value}'" for key, value in (metadata or {}).items())
    options = f", KV_METADATA {{{pairs}}}" if metadata else ""
    copy = tmp_path / "rewritten.parquet"
    con = duckdb.connect()
    con.execute(f"COPY (SELECT * FROM read_parquet(?)) TO '{copy}' (FORMAT parquet{options})", [str(part)])
    con.close()
    copy.replace(part)


OLD_PARTS = {
    "uid scheme, no version": ({"censorwatch.uid_scheme": "sha256-bytes"}, "records no schema version"),
    "nothing recorded": (None, "records no schema version"),
    "version 3": ({PART_VERSION_KEY: "3"}, "records schema version 3"),
}


@pytest.mark.parametrize("kind", sorted(OLD_PARTS))
def test_parts_of_another_build_are_refused_and_nothing_is_stored(tree: Path, tmp_path: Path, kind: str) -> None:
    metadata, said = OLD_PARTS[kind]
    out = tmp_path / "parts"
    process_single(tree, out, raw="embed")
    parts = sorted(out.rglob("*.parquet"))
    _rewrite(parts[3], metadata, tmp_path)
    db = tmp_path / "s.duckdb"
    Store(db).close()  # a store of this version, holding nothing
    before = snapshot(tmp_path)
    with Store(db) as store, pytest.raises(ParquetSourceError) as refused:
        load_parquet(store, out)
    message = " ".join(str(refused.value).split())
    assert message.startswith(f"parts under {out} were written by another build of censorwatch: 1 of the "
                              f"{len(parts)} to load are not of schema version {SCHEMA_VERSION}")
    assert f"({parts[3]} {said})" in message and "Nothing was stored" in message
    result = CliRunner().invoke(app, ["ingest", "parquet", str(out), "--db", str(db)])
    assert result.exit_code == 2 and " ".join(result.stderr.split()).startswith("error: parts under")
    with Store(db, read_only=True) as reader:
        assert reader.count() == 0
        assert reader.con.execute("SELECT count(*) FROM read_files").fetchall() == [(0,)]
    assert snapshot(tmp_path) == before


def test_parts_of_this_build_record_its_version(tree: Path, tmp_path: Path) -> None:
    process_single(tree, tmp_path / "parts")
    con = duckdb.connect()
    versions = con.execute(
        "SELECT DISTINCT decode(value) FROM parquet_kv_metadata(?) WHERE decode(key) = ?",
        [[str(part) for part in (tmp_path / "parts").rglob("*.parquet")], PART_VERSION_KEY],
    ).fetchall()
    assert versions == [(SCHEMA_VERSION,)]


def test_the_explorer_says_a_store_of_another_build_is_not_its_own(tmp_path: Path, tree: Path) -> None:
    from fastapi.testclient import TestClient

    from censorwatch.web.app import create_app

    db = tmp_path / "old.duckdb"
    _current(db, tree)
    with duckdb.connect(str(db)) as con:
        _version("3")(con)
    before = snapshot(db, cans_directory(db))
    with TestClient(create_app(db)) as client:
        page = client.get("/")
        api = client.get("/api/v1/status")
    assert "another censorwatch build" in page.text
    assert api.json()["state"] == "outdated"
    assert snapshot(db, cans_directory(db)) == before
