"""How a uid is derived for a measurement that carries none (OONI's raw files carry none):
BLAKE3 of its JSON as received in stores made now; sha256 of the same bytes, or of its sorted
JSON, in stores made before, which keep deriving them so. Parts say which scheme they used, and `ingest parquet` loads
only parts that match the store."""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import orjson
import pytest
from blake3 import blake3
from typer.testing import CliRunner

from censorwatch.cli.main import app
from censorwatch.distributed.process import ProcessError, process_single
from censorwatch.model.measurement import (
    NEW_UID_SCHEME,
    UID_FROM_BLAKE3_BYTES,
    UID_FROM_SHA256_BYTES,
    UID_FROM_SORTED_JSON,
    measurement_uid,
    meta_of,
)
from censorwatch.sources.ingest import ingest_files
from censorwatch.sources.parquet import load_parquet
from censorwatch.store import Store
from censorwatch.store.database import StoreError
from tests.integration.test_process_dask import measurement

pytestmark = pytest.mark.integration

PER_FILE = 20


def _line(i: int, test: str, cc: str) -> str:
    value = measurement(i, test, cc, "2024-03-01")
    del value["measurement_uid"]  # as in OONI's raw files
    return json.dumps(value)


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, list[str]]:
    """raw/YYYYMMDD/HH/CC/testname/*.jsonl.gz of measurements without uids; returns the lines."""
    every: list[str] = []
    for cc in ("RU", "IR"):
        for test in ("telegram", "web_connectivity"):
            folder = tmp_path / "in" / "raw" / "20240301" / "00" / cc / test.replace("_", "")
            folder.mkdir(parents=True)
            lines = [_line(i, test, cc) for i in range(PER_FILE)]
            (folder / f"2024_{cc}_{test}.n0.0.jsonl.gz").write_bytes(gzip.compress("\n".join(lines).encode() + b"\n"))
            every += lines
    return tmp_path / "in" / "raw", every


def _uids(db: Path) -> set[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {row[0] for row in con.execute("SELECT measurement_uid FROM measurements").fetchall()}


def _old_store(db: Path, raw: Path, scheme: str = UID_FROM_SORTED_JSON) -> int:
    """A store as censorwatch made it before: with sha256-sorted-json, before schemes were
    recorded (no uid_scheme in schema_info); with sha256-bytes, from 2026-11 to 2026-11-28."""
    with Store(db) as store:
        store.uid_scheme = scheme
        stored = ingest_files(store, [raw]).stored
        if scheme == UID_FROM_SORTED_JSON:
            store.con.execute("DELETE FROM schema_info WHERE key = 'uid_scheme'")
        else:
            store.con.execute("UPDATE schema_info SET value = ? WHERE key = 'uid_scheme'", [scheme])
    return stored


def test_a_uid_is_the_blake3_of_the_json_as_received() -> None:
    line = _line(1, "telegram", "RU").encode()
    value = json.loads(line)
    suffix = blake3(line).hexdigest()[:32]  # what `b3sum` prints for the line
    assert NEW_UID_SCHEME == UID_FROM_BLAKE3_BYTES
    assert measurement_uid(value, line) == f"20240301010000_RU_telegram_{suffix}"
    assert meta_of(value, memoryview(line)).measurement_uid.endswith(suffix)
    # Another serialisation of the same measurement is another uid.
    assert measurement_uid(value, json.dumps(value, indent=2).encode()) != measurement_uid(value, line)
    # Without the bytes: those analysis/record.py stores for it.
    assert measurement_uid(value) == measurement_uid(value, orjson.dumps(value))
    assert measurement_uid({**value, "measurement_uid": "given"}, line) == "given"


def test_the_sha256_bytes_scheme_gives_the_uids_of_stores_made_in_november() -> None:
    line = _line(1, "telegram", "RU").encode()
    value = json.loads(line)
    suffix = hashlib.sha256(line).hexdigest()[:32]  # what `sha256sum` prints for the line
    assert measurement_uid(value, line, UID_FROM_SHA256_BYTES) == f"20240301010000_RU_telegram_{suffix}"
    assert meta_of(value, line, UID_FROM_SHA256_BYTES).measurement_uid.endswith(suffix)
    assert measurement_uid(value, None, UID_FROM_SHA256_BYTES) == measurement_uid(
        value, orjson.dumps(value), UID_FROM_SHA256_BYTES
    )
    assert measurement_uid(value, line, UID_FROM_SHA256_BYTES) != measurement_uid(value, line)


def test_the_sorted_json_scheme_gives_the_uids_of_earlier_stores() -> None:
    value = {
        "test_name": "some_future_test", "input": "https://a.example/", "probe_cc": "ru", "probe_asn": "AS12389",
        "measurement_start_time": "2026-01-02 03:04:05", "test_keys": {"blocking": False},
    }
    # The value censorwatch derived for this measurement before schemes existed.
    expected = "20260102030405_RU_somefuturetest_e65267c6212af877c21b4f66abc171cf"
    for raw in (None, orjson.dumps(value), json.dumps(value, indent=2).encode()):
        assert measurement_uid(value, raw, UID_FROM_SORTED_JSON) == expected
    with pytest.raises(ValueError, match="uid scheme must be one of"):
        measurement_uid(value, None, "md5")


def test_a_new_store_derives_by_blake3_and_keeps_doing_so(tree: tuple[Path, list[str]], tmp_path: Path) -> None:
    raw, lines = tree
    db = tmp_path / "new.duckdb"
    with Store(db) as store:
        assert store.uid_scheme == UID_FROM_BLAKE3_BYTES
        assert ingest_files(store, [raw]).stored == len(lines)
    with Store(db) as store:
        assert store.uid_scheme == UID_FROM_BLAKE3_BYTES
        again = ingest_files(store, [raw], reread=True)  # every line again, not skipped as a read file
        assert (again.stored, again.duplicates) == (0, len(lines))
    assert _uids(db) == {measurement_uid(json.loads(line), line.encode()) for line in lines}


@pytest.mark.parametrize("scheme", [UID_FROM_SORTED_JSON, UID_FROM_SHA256_BYTES])
def test_an_earlier_store_keeps_its_uids_and_stays_idempotent(
    tree: tuple[Path, list[str]], tmp_path: Path, scheme: str
) -> None:
    raw, lines = tree
    db = tmp_path / "old.duckdb"
    assert _old_store(db, raw, scheme) == len(lines)
    with Store(db, read_only=True) as reader:
        assert reader.uid_scheme == scheme
    with Store(db) as store:
        assert store.uid_scheme == scheme
        again = ingest_files(store, [raw], reread=True)  # every line again, not skipped as a read file
        assert (again.stored, again.duplicates) == (0, len(lines))
        recorded = store.con.execute("SELECT value FROM schema_info WHERE key = 'uid_scheme'").fetchall()
    assert recorded == [(scheme,)]
    assert _uids(db) == {measurement_uid(json.loads(line), line.encode(), scheme) for line in lines}


@pytest.mark.parametrize("scheme", [UID_FROM_SORTED_JSON, UID_FROM_SHA256_BYTES])
def test_parts_load_only_into_a_store_of_their_scheme(
    tree: tuple[Path, list[str]], tmp_path: Path, scheme: str
) -> None:
    raw, lines = tree
    db = tmp_path / "old.duckdb"
    _old_store(db, raw, scheme)
    process_single(raw, tmp_path / "parts")  # the default: BLAKE3 of the bytes
    refused = CliRunner().invoke(app, ["ingest", "parquet", str(tmp_path / "parts"), "--db", str(db)])
    assert refused.exit_code == 1, refused.output
    assert f"stored: 0, already stored: 0\nskipped rows: {len(lines)}" in refused.stderr
    said = " ".join(refused.stderr.split())  # as one line, whatever the terminal's width
    assert f"parts derive uids by blake3-bytes; this store uses {scheme}: " in said
    assert f"run `censorwatch process --uid-scheme {scheme}`" in said
    assert len(_uids(db)) == len(lines)

    done = CliRunner().invoke(app, ["process", str(raw), "--out", str(tmp_path / "old-parts"), "--cluster", "none",
                                    "--uid-scheme", scheme])
    assert done.exit_code == 0, done.output
    loaded = CliRunner().invoke(app, ["ingest", "parquet", str(tmp_path / "old-parts"), "--db", str(db)])
    assert loaded.exit_code == 0, loaded.output
    assert f"stored: 0, already stored: {len(lines)}" in loaded.stderr

    with Store(tmp_path / "new.duckdb") as store:
        assert load_parquet(store, tmp_path / "parts").stored == len(lines)
        assert load_parquet(store, tmp_path / "old-parts").skipped == {
            f"parts derive uids by {scheme}; this store uses blake3-bytes: "
            "run `censorwatch process --uid-scheme blake3-bytes`": len(lines)
        }
    assert _uids(tmp_path / "new.duckdb") == {measurement_uid(json.loads(line), line.encode()) for line in lines}


def test_parts_that_do_not_say_are_taken_as_made_before_schemes(tree: tuple[Path, list[str]], tmp_path: Path) -> None:
    raw, lines = tree
    process_single(raw, tmp_path / "parts", raw="embed")
    part = sorted((tmp_path / "parts").rglob("*.parquet"))[0]
    con = duckdb.connect()
    count = con.execute("SELECT count(*) FROM read_parquet(?)", [str(part)]).fetchall()[0][0]
    rewritten = tmp_path / "rewritten.parquet"
    con.execute(f"COPY (SELECT * FROM read_parquet(?)) TO '{rewritten}' (FORMAT parquet)", [str(part)])
    rewritten.replace(part)
    with Store(tmp_path / "new.duckdb") as store:
        loaded = load_parquet(store, tmp_path / "parts")
    assert loaded.stored == len(lines) - count
    [(reason, skipped)] = loaded.skipped.items()
    assert skipped == count and reason.startswith("parts do not say how their uids were derived")


def test_an_unknown_scheme_is_a_clear_error(tree: tuple[Path, list[str]], tmp_path: Path) -> None:
    raw, _ = tree
    result = CliRunner().invoke(app, ["process", str(raw), "--out", str(tmp_path / "o"), "--uid-scheme", "md5"])
    assert result.exit_code == 2 and "--uid-scheme must be one of" in result.stderr
    with pytest.raises(ProcessError, match="uid scheme must be one of"):
        process_single(raw, tmp_path / "o", uid_scheme="md5")


def test_blake3_of_an_exported_line_gives_its_uid(tree: tuple[Path, list[str]], tmp_path: Path) -> None:
    """What README promises a reader: `export measurements` writes each line of a raw file as it
    was received, and the first 32 hex digits of its BLAKE3 (`b3sum`) end its uid in `export verdicts`."""
    raw, lines = tree
    db = str(tmp_path / "new.duckdb")
    assert CliRunner().invoke(app, ["ingest", "ooni", str(raw), "--db", db]).exit_code == 0
    exported = CliRunner().invoke(app, ["export", "measurements", "--db", db])
    verdicts = CliRunner().invoke(app, ["export", "verdicts", "--db", db, "--format", "jsonl"])
    assert exported.exit_code == verdicts.exit_code == 0
    assert sorted(exported.stdout.splitlines()) == sorted(lines)
    suffixes = {json.loads(row)["measurement_uid"].rsplit("_", 1)[1] for row in verdicts.stdout.splitlines()}
    assert suffixes == {blake3(line.encode()).hexdigest()[:32] for line in exported.stdout.splitlines()}


def test_a_scheme_this_version_does_not_know_is_a_clear_error(tmp_path: Path) -> None:
    """A store a newer censorwatch made with another scheme: writing to it would derive uids
    that match nothing in it, so it is refused; reading it still works."""
    db = tmp_path / "newer.duckdb"
    with Store(db) as store:
        store.con.execute("UPDATE schema_info SET value = 'sha3-bytes' WHERE key = 'uid_scheme'")
    with pytest.raises(StoreError, match="derives uids by 'sha3-bytes'"):
        Store(db)
    with Store(db, read_only=True) as reader:
        assert reader.uid_scheme == "sha3-bytes" and reader.count() == 0
    result = subprocess.run([sys.executable, "-m", "censorwatch", "ingest", "ooni", str(tmp_path), "--db", str(db)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "sha3-bytes" in result.stderr and "Traceback" not in result.stderr
