"""`process --raw link`: parts of gzip input files keep no frames but point into the input file;
`ingest parquet` keeps each such file as a can, checked against the identity the part recorded.
The stored measurements must equal those of embedded parts byte for byte; a missing or
replaced input file costs exactly its rows, counted, and nothing else."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from censorwatch.cli.main import app
from censorwatch.distributed import file_task
from censorwatch.distributed.process import ProcessError, process_single, process_tree
from censorwatch.sources.parquet import load_parquet
from censorwatch.store import Store
from censorwatch.store.cans import cans_directory
from censorwatch.store.schema import LINK_COLUMN_NAMES, PART_COLUMNS, PART_VERSION_KEY, SCHEMA_VERSION
from tests.integration.test_process_dask import write_tree

pytestmark = pytest.mark.integration

LINKED_COLUMNS = (*PART_COLUMNS, *LINK_COLUMN_NAMES)
PER_FILE = 25  # good measurements per file of write_tree


def part_rows(out: Path, columns: tuple[str, ...] = LINKED_COLUMNS) -> list[tuple[Any, ...]]:
    query = f"SELECT {', '.join(columns)} FROM read_parquet(?, hive_partitioning = false, union_by_name = true) "
    return duckdb.connect().execute(query + "ORDER BY measurement_uid", [str(out / "**" / "*.parquet")]).fetchall()


def stored_measurements(db: Path) -> dict[str, tuple[bytes, tuple[Any, ...]]]:
    """uid -> (raw JSON as read back, the verdict and meta columns)."""
    with Store(db, read_only=True) as store:
        columns = [name for name in PART_COLUMNS if name != "raw_zstd"]
        return {
            row["measurement_uid"]: (row["raw"], tuple(row[name] for name in columns))
            for row in store.iter_measurements()
        }


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, int]:
    return tmp_path / "in", write_tree(tmp_path / "in", per_file=PER_FILE)


def test_linked_parts_point_into_the_input_files(tree: tuple[Path, int], tmp_path: Path) -> None:
    root, good = tree
    single = process_single(root / "raw", tmp_path / "single", raw="link")
    dask = process_tree(root / "raw", tmp_path / "dask", "local", 2, raw="link")
    assert single.written == dask.written == good
    linked = part_rows(tmp_path / "single")
    assert part_rows(tmp_path / "dask") == linked
    index = {name: i for i, name in enumerate(LINKED_COLUMNS)}
    for row in linked:
        assert row[index["raw_zstd"]] is None
        path = Path(row[index["raw_file"]])
        assert path.is_absolute() and path.is_relative_to(root.resolve())
        assert row[index["raw_file_bytes"]] == path.stat().st_size
        stream = gzip.decompress(path.read_bytes())
        start, length = row[index["raw_offset"]], row[index["raw_length"]]
        assert json.loads(stream[start : start + length])["measurement_uid"] == row[index["measurement_uid"]]
    # Apart from where the JSON is kept, the same rows as embedded parts.
    process_single(root / "raw", tmp_path / "embedded", raw="embed")
    same = tuple(name for name in PART_COLUMNS if name != "raw_zstd")
    assert part_rows(tmp_path / "single", same) == part_rows(tmp_path / "embedded", same)


def test_ingest_parquet_keeps_linked_files_as_cans(tree: tuple[Path, int], tmp_path: Path) -> None:
    root, good = tree
    process_single(root / "raw", tmp_path / "linked", raw="link")
    process_single(root / "raw", tmp_path / "embedded", raw="embed")
    with Store(tmp_path / "linked.duckdb") as store:
        first = load_parquet(store, tmp_path / "linked")
        again = load_parquet(store, tmp_path / "linked", reread=True)
    assert (first.stored, first.linked_files, first.skipped) == (good, 12, {})
    assert (again.stored, again.duplicates, again.linked_files) == (0, good, 0)
    shelf = cans_directory(tmp_path / "linked.duckdb")
    assert len(list(shelf.iterdir())) == 12  # loading again kept no second copy
    with Store(tmp_path / "embedded.duckdb") as store:
        load_parquet(store, tmp_path / "embedded")
    linked = stored_measurements(tmp_path / "linked.duckdb")
    embedded = stored_measurements(tmp_path / "embedded.duckdb")
    assert len(linked) == good
    assert linked == embedded
    # The input tree may go once loaded: the store reads its own copies.
    shutil.rmtree(root)
    assert stored_measurements(tmp_path / "linked.duckdb") == embedded


def test_a_missing_or_replaced_input_file_costs_its_rows_only(tree: tuple[Path, int], tmp_path: Path) -> None:
    root, good = tree
    process_single(root / "raw", tmp_path / "linked", raw="link")
    inputs = sorted((root / "raw").rglob("*.jsonl.gz"))
    inputs[0].unlink()
    replaced = inputs[1]
    with gzip.open(replaced, "rt") as handle:
        lines = handle.read().splitlines()
    with gzip.open(replaced, "wt") as handle:  # same measurements, different bytes
        handle.write("\n".join(reversed(lines)) + "\n")
    db = tmp_path / "s.duckdb"
    result = CliRunner().invoke(app, ["ingest", "parquet", str(tmp_path / "linked"), "--db", str(db)])
    assert result.exit_code == 1, result.output
    assert f"stored: {good - 2 * PER_FILE}" in result.stderr
    assert f"skipped rows: {2 * PER_FILE}" in result.stderr
    assert f"{PER_FILE} x linked file missing" in result.stderr
    assert f"{PER_FILE} x linked file changed since `censorwatch process` read it" in result.stderr
    assert len(list(cans_directory(db).iterdir())) == 10  # no copy of the replaced file stays
    assert len(stored_measurements(db)) == good - 2 * PER_FILE


def test_a_moved_input_tree_is_found_with_moved(tree: tuple[Path, int], tmp_path: Path) -> None:
    root, good = tree
    process_single(root / "raw", tmp_path / "linked", raw="link")
    elsewhere = tmp_path / "elsewhere"
    (root / "raw").rename(elsewhere)
    runner = CliRunner()
    db = tmp_path / "s.duckdb"
    result = runner.invoke(app, ["ingest", "parquet", str(tmp_path / "linked"), "--db", str(db)])
    assert result.exit_code == 1 and f"{good} x linked file missing" in result.stderr
    moved = f"{(root / 'raw').resolve()}={elsewhere}"
    result = runner.invoke(app, ["ingest", "parquet", str(tmp_path / "linked"), "--db", str(db), "--moved", moved])
    assert result.exit_code == 0, result.output
    assert f"stored: {good}" in result.stderr
    with Store(db, read_only=True) as store:
        sources = {row[0] for row in store.con.execute("SELECT source FROM cans").fetchall()}
    assert len(sources) == 12 and all(Path(source).is_relative_to(elsewhere) for source in sources)
    assert len(stored_measurements(db)) == good
    result = runner.invoke(app, ["ingest", "parquet", str(tmp_path / "linked"), "--db", str(db), "--moved", "x"])
    assert result.exit_code == 2 and "--moved takes OLD=NEW" in result.stderr


def test_linked_rows_without_a_valid_span_are_counted_not_stored(tree: tuple[Path, int], tmp_path: Path) -> None:
    """Parts may come from anywhere: a negative offset, a missing length or a span longer than
    any measurement is refused at load time, and the other rows of the file are stored."""
    root, good = tree
    process_single(root / "raw", tmp_path / "linked", raw="link")
    part = sorted((tmp_path / "linked").rglob("*.parquet"))[0]
    con = duckdb.connect()
    uids = [row[0] for row in con.execute(
        "SELECT measurement_uid FROM read_parquet(?) ORDER BY measurement_uid LIMIT 3", [str(part)]
    ).fetchall()]
    doctored = tmp_path / "doctored.parquet"
    con.execute(
        "COPY (SELECT * REPLACE ("
        "CASE measurement_uid WHEN ? THEN -5 ELSE raw_offset END AS raw_offset, "
        "CASE measurement_uid WHEN ? THEN NULL WHEN ? THEN 1000000000000 ELSE raw_length END AS raw_length) "
        f"FROM read_parquet(?)) TO '{doctored}' "
        f"(FORMAT parquet, KV_METADATA {{'{PART_VERSION_KEY}': '{SCHEMA_VERSION}'}})",
        [uids[0], uids[1], uids[2], str(part)],
    )
    doctored.replace(part)
    db = tmp_path / "s.duckdb"
    result = CliRunner().invoke(app, ["ingest", "parquet", str(tmp_path / "linked"), "--db", str(db)])
    assert result.exit_code == 1, result.output
    assert "3 x linked row without a valid span" in result.stderr
    assert f"stored: {good - 3}" in result.stderr
    stored = stored_measurements(db)
    assert len(stored) == good - 3 and not set(uids) & set(stored)


def test_plain_files_keep_frames_in_link_mode(tmp_path: Path) -> None:
    folder = tmp_path / "raw" / "20240301" / "00" / "RU" / "telegram"
    folder.mkdir(parents=True)
    line = {"measurement_uid": "u1", "test_name": "telegram", "probe_cc": "RU", "probe_asn": "AS1",
            "measurement_start_time": "2024-03-01 00:00:00", "test_keys": {}}
    (folder / "x.jsonl").write_text(json.dumps(line) + "\n")
    assert process_single(tmp_path / "raw", tmp_path / "out", raw="link").written == 1
    [row] = duckdb.connect().execute(
        "SELECT raw_zstd IS NOT NULL, * EXCLUDE (raw_zstd) FROM read_parquet(?)",
        [str(tmp_path / "out" / "**" / "*.parquet")],
    ).fetchall()
    assert row[0] is True
    with Store(tmp_path / "s.duckdb") as store:
        loaded = load_parquet(store, tmp_path / "out")
        assert (loaded.stored, loaded.linked_files) == (1, 0)
        assert json.loads(next(store.iter_measurements())["raw"]) == line


def files_change_while_read(monkeypatch: pytest.MonkeyPatch, prefix: str = "") -> None:
    """The task's second look at a file whose name starts with `prefix` finds another size."""
    real = file_task.identity_of
    seen: set[Path] = set()

    def changing(path: Path) -> Any:
        identity = real(path)
        if path in seen and path.name.startswith(prefix):
            return type(identity)(identity.size + 1, identity.tail)
        seen.add(path)
        return identity

    monkeypatch.setattr(file_task, "identity_of", changing)


def test_a_file_changed_while_read_gives_no_parts(
    tree: tuple[Path, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, good = tree
    files_change_while_read(monkeypatch, "2024_RU_telegram")
    stats = process_single(root / "raw", tmp_path / "out", raw="link")
    assert len(stats.failed_files) == 2  # the telegram file of RU, on both days
    assert all("changed while it was read" in error for error in stats.failed_files.values())
    assert stats.written == good - 2 * PER_FILE
    assert len(part_rows(tmp_path / "out")) == good - 2 * PER_FILE
    assert not list((tmp_path / "out").rglob(".*.tmp"))


def test_raw_mode_is_checked(tree: tuple[Path, int], tmp_path: Path) -> None:
    root, _ = tree
    with pytest.raises(ProcessError, match="raw must be one of embed, link, copy"):
        process_single(root / "raw", tmp_path / "out", raw="zip")
    result = CliRunner().invoke(app, ["process", str(root / "raw"), "--out", str(tmp_path / "o"), "--raw", "zip"])
    assert result.exit_code == 2
    assert "--raw must be one of embed, link, copy" in result.stderr


def test_a_killed_ingest_parquet_leaves_whole_files_that_read_back(tmp_path: Path) -> None:
    """SIGKILL in the middle of loading linked parts: every stored measurement reads back byte for
    byte, the cans on disk are exactly those the store lists, and loading again completes."""
    import sys

    from tests.unit.test_cans import gzip_file, kill_after_cans, line, stored_raws

    (tmp_path / "in").mkdir()
    files = [gzip_file(tmp_path / "in" / f"f{k:02d}.jsonl.gz", [line(k * 1000 + i, pad=2000) for i in range(300)])
             for k in range(40)]
    expected = {
        str(json.loads(raw)["measurement_uid"]): raw
        for path in files
        for raw in (piece.strip() for piece in gzip.decompress(path.read_bytes()).splitlines())
        if raw
    }
    process_single(tmp_path / "in", tmp_path / "linked", raw="link")
    db = tmp_path / "s.duckdb"
    script = (
        "import sys; from pathlib import Path; from censorwatch.store import Store; "
        "from censorwatch.sources.parquet import load_parquet\n"
        "with Store(Path(sys.argv[1])) as s: load_parquet(s, Path(sys.argv[2]))"
    )
    kill_after_cans([sys.executable, "-c", script, str(db), str(tmp_path / "linked")], db, 3)
    shelf = cans_directory(db)
    with Store(db) as store:
        raws = stored_raws(store)
        assert 0 < len(raws) < len(expected)
        assert all(raw == expected[uid] for uid, raw in raws.items())
        listed = {row[0] for row in store.con.execute("SELECT can_id FROM cans").fetchall()}
    assert {p.name.removesuffix(".jsonl.gz") for p in shelf.iterdir()} == listed
    with Store(db) as store:
        again = load_parquet(store, tmp_path / "linked", reread=True)
        assert again.skipped == {} and store.count() == len(expected)
        assert stored_raws(store) == expected
    assert len(list(shelf.iterdir())) == 40
