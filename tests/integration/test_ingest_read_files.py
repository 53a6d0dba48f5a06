"""`ingest ooni` over a tree it has read before reads only what is new or changed: OONI's raw
files are synced every day and ingested again, and without this every run would read every
measurement of every earlier day again (store/read_files.py)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from censorwatch.cli.main import app
from censorwatch.code_identity import code_identity
from censorwatch.sources import ingest
from censorwatch.sources.ingest import ingest_files
from censorwatch.sources.ooni_files import READ_FAILURE, RawRecord
from censorwatch.store import Store, read_files
from censorwatch.store.cans import InputState, input_state
from tests.unit.test_cans import gzip_file, line

pytestmark = pytest.mark.integration


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "raw"
    for day in range(3):
        folder = root / f"2026010{day + 1}" / "00" / "RU" / "webconnectivity"
        folder.mkdir(parents=True)
        gzip_file(folder / "a.jsonl.gz", [line(day * 100 + i) for i in range(10)])
    (root / "single.json").write_bytes(line(900))
    (root / "lines.jsonl").write_bytes(line(901) + b"\n" + line(902) + b"\n{broken\n")
    return root


@pytest.fixture(params=[1000, 2], ids=["one lookup", "lookups of 2 files"], autouse=True)
def lookup_files(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """Files are looked up in chunks (read_files.LOOKUP_FILES): each test runs with every file in
    one chunk and with the tree spread over several."""
    monkeypatch.setattr(read_files, "LOOKUP_FILES", request.param)
    return int(request.param)


def read_paths(db: Path) -> set[str]:
    with Store(db, read_only=True) as store:
        return {row[0] for row in store.con.execute("SELECT path FROM read_files").fetchall()}


def test_a_second_run_reads_nothing(tree: Path, tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    with Store(db) as store:
        first = ingest_files(store, [tree])
        assert (first.read, first.stored, sum(first.skipped.values())) == (34, 33, 1)
        again = ingest_files(store, [tree])
        assert (again.read, again.stored, again.files_read_before, again.records_read_before) == (0, 0, 5, 34)
        assert store.count() == 33
        assert any("not read again: 5 (34 records; --reread reads them again)" in s for s in again.summary_lines())
        reread = ingest_files(store, [tree], reread=True)
        assert (reread.read, reread.stored, reread.duplicates, reread.files_read_before) == (34, 0, 33, 0)


def test_new_changed_touched_and_moved_files_are_read(tree: Path, tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    with Store(db) as store:
        ingest_files(store, [tree])
    (tree / "20260104").mkdir()
    new = gzip_file(tree / "20260104" / "a.jsonl.gz", [line(400)])
    changed = next(tree.rglob("20260101/**/a.jsonl.gz"))
    gzip_file(changed, [line(i) for i in range(11)])  # the file grew by one measurement
    touched = tree / "single.json"
    os.utime(touched, ns=(0, 0))
    moved = tree / "moved"
    moved.mkdir()
    shutil.move(tree / "lines.jsonl", moved / "lines.jsonl")
    with Store(db) as store:
        again = ingest_files(store, [tree])
        assert again.files_read_before == 2  # the two days that did not change
        assert (again.read, again.stored) == (1 + 11 + 1 + 3, 2)  # line(400) and line(10) are new
        assert store.count() == 35
    assert str(new.resolve()) in read_paths(db)


def test_a_file_with_skipped_records_is_read_again_by_other_code(
    tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Records this code skipped may be ones a later censorwatch reads; a file read to the end
    # without skips never needs reading again.
    db = tmp_path / "s.duckdb"
    with Store(db) as store:
        ingest_files(store, [tree])
    monkeypatch.setattr(ingest, "code_identity", lambda: "a later censorwatch")
    with Store(db) as store:
        again = ingest_files(store, [tree])
        assert again.files_read_before == 4
        assert (again.read, again.duplicates, sum(again.skipped.values())) == (3, 2, 1)
        assert ingest_files(store, [tree]).files_read_before == 5  # read by this code now


def test_a_file_the_system_failed_to_read_is_read_again(
    tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "s.duckdb"
    victim = tree / "lines.jsonl"
    real = ingest.read_records

    def failing(path: Path, shown_as: Path | None = None) -> Iterator[RawRecord]:
        if (shown_as or path) == victim:
            yield RawRecord(None, None, f"{READ_FAILURE} (Input/output error)", str(victim))
            return
        yield from real(path, shown_as)

    monkeypatch.setattr(ingest, "read_records", failing)
    with Store(db) as store:
        assert ingest_files(store, [tree]).skipped == {f"{READ_FAILURE} (Input/output error)": 1}
    assert str(victim.resolve()) not in read_paths(db)
    monkeypatch.setattr(ingest, "read_records", real)
    with Store(db) as store:
        again = ingest_files(store, [tree])
        assert (again.files_read_before, again.read, again.stored) == (4, 3, 2)


def test_files_are_recorded_only_with_their_rows(tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Killed while the batch that holds a finished file's rows was still open: the file is not
    # recorded as read, so the next run reads it and stores its rows.
    db = tmp_path / "s.duckdb"
    real = ingest.read_records
    seen: list[Path] = []

    def killed_on_the_third_file(path: Path, shown_as: Path | None = None) -> Iterator[RawRecord]:
        seen.append(path)
        if len(seen) == 3:
            raise KeyboardInterrupt
        yield from real(path, shown_as)

    monkeypatch.setattr(ingest, "read_records", killed_on_the_third_file)
    with Store(db) as store, pytest.raises(KeyboardInterrupt):
        ingest_files(store, [tree])
    assert read_paths(db) == set()
    monkeypatch.setattr(ingest, "read_records", real)
    with Store(db) as store:
        again = ingest_files(store, [tree])
        assert (again.files_read_before, again.stored) == (0, 33)


def test_cli_reread(tree: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "s.duckdb")
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", "ooni", str(tree), "--db", db]).exit_code == 0
    again = runner.invoke(app, ["ingest", "ooni", str(tree), "--db", db])
    said = " ".join(again.stderr.split())
    assert again.exit_code == 0 and "read 0 records" in said and "not read again: 5 (34 records" in said
    reread = runner.invoke(app, ["ingest", "ooni", str(tree), "--db", db, "--reread"])
    assert "read 34 records: stored 0, already stored 33, skipped 1" in " ".join(reread.stderr.split())


def test_lookups_answer_each_file_as_asked(tree: Path, tmp_path: Path) -> None:
    """The same file twice, a file never read, a file whose state is unknown and one whose state
    changed: each answered in its place, in one query."""
    with Store(tmp_path / "s.duckdb") as store:
        ingest_files(store, [tree])
        done = tree / "single.json"
        lines = tree / "lines.jsonl"
        other = tmp_path / "never.jsonl"
        other.write_bytes(line(5))
        changed = input_state(done)
        changed = InputState(changed.size + 1, changed.mtime_ns, changed.tail)
        files = [(done, input_state(done)), (other, input_state(other)), (lines, None), (done, input_state(done)),
                 (done, changed), (lines, input_state(lines))]
        # lines.jsonl has a skipped record: by the same code its read still counts.
        assert read_files.earlier_reads(store.con, files, code_identity()) == [1, None, None, 1, None, 3]
        assert read_files.earlier_reads(store.con, files, "other code") == [1, None, None, 1, None, None]
        assert read_files.earlier_reads(store.con, [], "any") == []


def test_a_batch_and_the_files_it_finished_commit_together(
    tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One transaction per batch (Store.add): when recording the files read fails, the batch's
    # rows and the cans they point into are undone with it, and the next run stores them.
    from censorwatch.store import measurement_writer
    from censorwatch.store.cans import cans_directory

    def failing(con: object, reads: object) -> None:
        if reads:
            raise OSError("disk full")

    db = tmp_path / "s.duckdb"
    monkeypatch.setattr(measurement_writer, "record_reads", failing)
    with Store(db) as store, pytest.raises(OSError, match="disk full"):
        ingest_files(store, [tree])
    with Store(db) as store:
        assert store.count() == 0
        assert store.con.execute("SELECT count(*) FROM read_files").fetchall() == [(0,)]
        assert list(cans_directory(db).iterdir()) == []
    monkeypatch.undo()
    with Store(db) as store:
        again = ingest_files(store, [tree])
        assert (again.files_read_before, again.stored) == (0, 33)
