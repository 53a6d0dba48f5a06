"""`process --raw copy`: rows of gzip input files point, as with `--raw link`, into the file, but
into a copy kept in the output directory (OUT/inputs, a hard link when it can be) and named
relative to it. The output directory alone then loads everything, wherever it is moved, after
the input tree is gone; what is stored equals what embedded parts store, byte for byte."""

from __future__ import annotations

import errno
import gzip
import json
import os
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from censorwatch.cli.main import app
from censorwatch.distributed import kept_inputs
from censorwatch.distributed.process import process_single, process_tree
from censorwatch.sources.parquet import load_parquet
from censorwatch.store import Store
from censorwatch.store.schema import PART_VERSION_KEY, SCHEMA_VERSION
from tests.integration.test_process_dask import write_tree
from tests.integration.test_process_linked import (
    LINKED_COLUMNS,
    PER_FILE,
    files_change_while_read,
    part_rows,
    stored_measurements,
)

pytestmark = pytest.mark.integration

FILES = 12  # gzip files of write_tree


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, int]:
    return tmp_path / "in", write_tree(tmp_path / "in", per_file=PER_FILE)


def kept(out: Path) -> list[Path]:
    return sorted((out / "inputs").iterdir())


def test_copied_parts_point_into_their_own_copies(tree: tuple[Path, int], tmp_path: Path) -> None:
    root, good = tree
    single = process_single(root / "raw", tmp_path / "single", raw="copy")
    dask = process_tree(root / "raw", tmp_path / "dask", "local", 2, raw="copy")
    assert single.written == dask.written == good
    assert single.kept_inputs == dask.kept_inputs == {"hard link": FILES}
    copied = part_rows(tmp_path / "single")
    assert part_rows(tmp_path / "dask") == copied
    index = {name: i for i, name in enumerate(LINKED_COLUMNS)}
    inputs = {path.stat().st_ino for path in (root / "raw").rglob("*.jsonl.gz")}
    assert {path.stat().st_ino for path in kept(tmp_path / "single")} == inputs  # hard links
    for row in copied:
        name = row[index["raw_file"]]
        assert row[index["raw_zstd"]] is None and name.startswith("inputs/") and name.endswith(".jsonl.gz")
        path = tmp_path / "single" / name
        assert row[index["raw_file_bytes"]] == path.stat().st_size
        stream = gzip.decompress(path.read_bytes())
        start, length = row[index["raw_offset"]], row[index["raw_length"]]
        assert json.loads(stream[start : start + length])["measurement_uid"] == row[index["measurement_uid"]]
    assert not list((tmp_path / "single").rglob(".*"))


def test_the_output_directory_alone_loads_everything(tree: tuple[Path, int], tmp_path: Path) -> None:
    root, good = tree
    process_single(root / "raw", tmp_path / "out", raw="copy")
    process_single(root / "raw", tmp_path / "embedded", raw="embed")
    shutil.rmtree(root)
    moved = tmp_path / "elsewhere" / "out"
    moved.parent.mkdir()
    (tmp_path / "out").rename(moved)
    with Store(tmp_path / "embedded.duckdb") as store:
        load_parquet(store, tmp_path / "embedded")
    with Store(tmp_path / "copied.duckdb") as store:
        loaded = load_parquet(store, moved)
        assert (loaded.stored, loaded.linked_files, loaded.skipped) == (good, FILES, {})
    assert stored_measurements(tmp_path / "copied.duckdb") == stored_measurements(tmp_path / "embedded.duckdb")
    # A partition folder given alone still finds OUT/inputs.
    with Store(tmp_path / "part.duckdb") as store:
        loaded = load_parquet(store, moved / "test_name=telegram")
        assert loaded.skipped == {} and loaded.stored == loaded.rows > 0


def test_an_output_directory_named_like_a_partition_still_loads(tree: tuple[Path, int], tmp_path: Path) -> None:
    """The copies are found above the part's own test_name=/probe_cc=/date= folders, not above
    any folder whose name has an "=" in it."""
    root, good = tree
    out = tmp_path / "run=7"
    process_single(root / "raw", out, raw="copy")
    with Store(tmp_path / "s.duckdb") as store:
        loaded = load_parquet(store, out)
    assert (loaded.stored, loaded.skipped) == (good, {})


def test_across_file_systems_the_input_is_copied(
    tree: tuple[Path, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, good = tree

    def cross_device(source: Any, target: Any) -> None:
        raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))

    monkeypatch.setattr(kept_inputs.os, "link", cross_device)
    stats = process_single(root / "raw", tmp_path / "out", raw="copy")
    assert stats.kept_inputs == {"copy": FILES}
    assert "input files kept in the output directory: 12 (12 as copies)" in stats.summary_lines()
    inputs = {path.stat().st_ino for path in (root / "raw").rglob("*.jsonl.gz")}
    assert not {path.stat().st_ino for path in kept(tmp_path / "out")} & inputs
    for path in (root / "raw").rglob("*.jsonl.gz"):  # the originals change; the copies do not
        path.write_bytes(b"")
    with Store(tmp_path / "s.duckdb") as store:
        assert load_parquet(store, tmp_path / "out").stored == good


def test_an_input_changed_in_place_after_process_is_not_stored(tree: tuple[Path, int], tmp_path: Path) -> None:
    """A hard link shares the input's bytes: the identity the part recorded catches a change."""
    root, good = tree
    process_single(root / "raw", tmp_path / "out", raw="copy")
    victim = sorted((root / "raw").rglob("*.jsonl.gz"))[0]
    with gzip.open(victim, "rt") as handle:
        lines = handle.read().splitlines()
    with victim.open("r+b") as handle:  # in place: the same inode, as an editor in place would
        handle.write(gzip.compress(("\n".join(reversed(lines)) + "\n").encode()))
        handle.truncate()
    result = CliRunner().invoke(app, ["ingest", "parquet", str(tmp_path / "out"), "--db", str(tmp_path / "s.duckdb")])
    assert result.exit_code == 1, result.output
    assert f"{PER_FILE} x linked file changed since `censorwatch process` read it" in result.stderr
    assert f"stored: {good - PER_FILE}" in result.stderr


def test_a_rerun_replaces_its_copies_and_leaves_no_temporary_files(tree: tuple[Path, int], tmp_path: Path) -> None:
    root, good = tree
    first = process_single(root / "raw", tmp_path / "out", raw="copy")
    before = part_rows(tmp_path / "out")
    # A killed task's leftover, under the name the next run of that file uses.
    leftover = kept(tmp_path / "out")[0]
    leftover.with_name(f".{leftover.name.removesuffix('.jsonl.gz')}.partial.jsonl.gz").write_bytes(b"half")
    again = process_single(root / "raw", tmp_path / "out", raw="copy", redo=True)
    assert first.written == again.written == good
    assert part_rows(tmp_path / "out") == before
    assert len(kept(tmp_path / "out")) == FILES
    assert not list((tmp_path / "out").rglob(".*"))


def test_a_file_changed_while_read_keeps_nothing(
    tree: tuple[Path, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, _ = tree
    files_change_while_read(monkeypatch)  # every file
    stats = process_single(root / "raw", tmp_path / "out", raw="copy")
    assert len(stats.failed_files) == FILES and stats.written == 0 and not stats.kept_inputs
    assert not list((tmp_path / "out").rglob("*.parquet"))
    assert kept(tmp_path / "out") == []


def test_a_file_without_measurements_is_not_kept(tmp_path: Path) -> None:
    folder = tmp_path / "raw" / "20240301" / "00" / "RU" / "telegram"
    folder.mkdir(parents=True)
    (folder / "x.jsonl.gz").write_bytes(gzip.compress(b"not json\n{}\n"))
    stats = process_single(tmp_path / "raw", tmp_path / "out", raw="copy")
    assert stats.read == 2 and stats.written == 0 and not stats.kept_inputs
    assert kept(tmp_path / "out") == []


def test_a_relative_name_may_not_leave_the_output_directory(tree: tuple[Path, int], tmp_path: Path) -> None:
    """Parts may come from anywhere: a relative name climbing out of OUT is refused, counted."""
    root, good = tree
    process_single(root / "raw", tmp_path / "out", raw="copy")
    part = sorted((tmp_path / "out").rglob("*.parquet"))[0]
    con = duckdb.connect()
    rows = con.execute("SELECT count(*) FROM read_parquet(?)", [str(part)]).fetchone()
    assert rows is not None
    doctored = tmp_path / "doctored.parquet"
    con.execute(
        "COPY (SELECT * REPLACE ('inputs/../../in/' || raw_file AS raw_file) FROM read_parquet(?)) "
        f"TO '{doctored}' (FORMAT parquet, KV_METADATA {{'{PART_VERSION_KEY}': '{SCHEMA_VERSION}'}})",
        [str(part)],
    )
    doctored.replace(part)
    result = CliRunner().invoke(app, ["ingest", "parquet", str(tmp_path / "out"), "--db", str(tmp_path / "s.duckdb")])
    assert result.exit_code == 1, result.output
    assert f"{rows[0]} x linked file outside the output directory" in result.stderr
    assert f"stored: {good - rows[0]}" in result.stderr
