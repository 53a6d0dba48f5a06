"""`censorwatch process` run again into the same output directory processes only the input files
that no earlier run finished with the same options and the same code (distributed/finished_files.py):
a killed run goes on, a tree that grew costs only its new files, and anything that could make
the parts differ (the input, --raw, censorwatch itself, a part gone) makes the file
due again."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from censorwatch.cli.main import app
from censorwatch.distributed import file_task, finished_files
from censorwatch.distributed.finished_files import FINISHED
from censorwatch.distributed.parts import file_id
from censorwatch.distributed.process import process_single, process_tree
from censorwatch.distributed.results import FileResult
from censorwatch.sources.ingest import ingest_files
from censorwatch.sources.parquet import load_parquet
from censorwatch.store import Store
from tests.integration.test_process_dask import measurement, write_tree
from tests.integration.test_process_linked import PER_FILE, part_rows

pytestmark = pytest.mark.integration

FILES = 12  # gzip files of write_tree


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, int]:
    return tmp_path / "in" / "raw", write_tree(tmp_path / "in", per_file=PER_FILE)


def inputs(root: Path) -> list[Path]:
    return sorted(root.rglob("*.jsonl.gz"))


def part_times(out: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in out.rglob("*.parquet")}


def test_a_second_run_processes_nothing_and_changes_nothing(tree: tuple[Path, int], tmp_path: Path) -> None:
    root, good = tree
    out = tmp_path / "out"
    first = process_single(root, out)
    assert (first.files, first.written, first.reused_files) == (FILES, good, 0)
    rows, times = part_rows(out), part_times(out)
    again = process_single(root, out)
    assert (again.files, again.read, again.written, again.reused_files, again.reused_written) == (0, 0, 0, FILES, good)
    assert part_times(out) == times and part_rows(out) == rows
    assert any("not processed again: 12 files" in line for line in again.summary_lines())
    # The output still loads whole, and the marks are not parts.
    with Store(tmp_path / "s.duckdb") as store:
        loaded = load_parquet(store, out)
        assert loaded.stored == good and not loaded.skipped


def test_only_new_changed_or_incomplete_files_are_processed_again(tree: tuple[Path, int], tmp_path: Path) -> None:
    root, good = tree
    out = tmp_path / "out"
    process_single(root, out)
    files = inputs(root)
    # A new file (the tree grew by an hour), a file replaced by a longer one, a file whose part is
    # gone, and one whose mark is damaged.
    new = root / "20240303" / "00" / "RU" / "webconnectivity" / "2024_RU_new.n0.0.jsonl.gz"
    new.parent.mkdir(parents=True)
    new.write_bytes(gzip.compress(json.dumps(measurement(9000, "web_connectivity", "RU", "2024-03-03")).encode()))
    changed = files[0]
    lines = gzip.decompress(changed.read_bytes()) + json.dumps(measurement(9001, "web_connectivity", "RU",
                                                                           "2024-03-01")).encode() + b"\n"
    changed.write_bytes(gzip.compress(lines))
    lost = files[1]
    next((out).rglob(f"part-{file_id(lost)}.parquet")).unlink()
    damaged = files[2]
    (out / FINISHED / f"{file_id(damaged)}.json").write_text("{half", "utf-8")
    done: list[str] = []
    again = process_single(root, out, on_file=lambda r: done.append(r.path) if not r.reused else None)
    assert sorted(done) == sorted(str(p) for p in (new, changed, lost, damaged))
    assert (again.files, again.reused_files) == (4, FILES - 3)
    with Store(tmp_path / "s.duckdb") as store:
        assert load_parquet(store, out).stored == good + 2


@pytest.mark.parametrize("change", ["raw", "code", "redo"])
def test_other_options_or_another_censorwatch_process_everything(
    tree: tuple[Path, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    root, good = tree
    out = tmp_path / "out"
    process_single(root, out)
    options: dict[str, object] = {}
    if change == "raw":
        options["raw"] = "embed"
    elif change == "redo":
        options["redo"] = True
    else:
        monkeypatch.setattr(finished_files, "code_identity", lambda: "another censorwatch")
        monkeypatch.setattr(file_task, "code_identity", lambda: "another censorwatch")
    again = process_single(root, out, **options)  # type: ignore[arg-type]
    assert (again.files, again.written, again.reused_files) == (FILES, good, 0)
    # And the marks now vouch for the new parts.
    assert process_single(root, out, **{k: v for k, v in options.items() if k != "redo"}).reused_files == FILES  # type: ignore[arg-type]


def test_a_failed_file_gets_no_mark_and_is_tried_again(
    tree: tuple[Path, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, _ = tree
    out = tmp_path / "out"
    victim = inputs(root)[3]
    real = file_task._process

    def failing(file_path: Path, out_dir: Path, result: FileResult, *args: object) -> None:
        if file_path == victim:
            result.error = "OSError: the disk went away"
            return
        real(file_path, out_dir, result, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(file_task, "_process", failing)
    first = process_single(root, out)
    assert list(first.failed_files) == [str(victim)]
    assert not (out / FINISHED / f"{file_id(victim)}.json").exists()
    monkeypatch.setattr(file_task, "_process", real)
    again = process_single(root, out)
    assert (again.files, again.reused_files, again.written) == (1, FILES - 1, PER_FILE)


def test_a_task_killed_while_rewriting_leaves_no_mark(tree: tuple[Path, int], tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # The mark goes before the first part is rewritten: a run killed in between must not vouch
    # for parts it was replacing.
    root, _ = tree
    out = tmp_path / "out"
    process_single(root, out, raw="embed")
    victim = inputs(root)[0]

    def killed(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(file_task, "_process", killed)
    with pytest.raises(KeyboardInterrupt):
        file_task.process_file(victim, out, raw="copy")
    assert not (out / FINISHED / f"{file_id(victim)}.json").exists()


def test_the_cluster_resumes_too_and_the_cli_says_so(tree: tuple[Path, int], tmp_path: Path) -> None:
    root, good = tree
    out = tmp_path / "out"
    first = process_tree(root, out, "local", 2)
    assert first.written == good
    os.utime(inputs(root)[5], ns=(0, 0))  # touched: its modification time no longer matches
    result = CliRunner().invoke(app, ["process", str(root), "--out", str(out), "--cluster", "none"])
    assert result.exit_code == 0, result.output
    said = " ".join(result.stderr.split())
    assert f"files: 1, records read: {PER_FILE + 3}" in said
    assert f"finished by an earlier run, not processed again: {FILES - 1} files" in said
    assert "--redo processes them again" in said
    result = CliRunner().invoke(app, ["process", str(root), "--out", str(out), "--cluster", "none", "--redo"])
    assert result.exit_code == 0, result.output
    assert f"files: {FILES}," in " ".join(result.stderr.split())


def test_resumed_parts_load_like_fresh_ones(tree: tuple[Path, int], tmp_path: Path) -> None:
    root, good = tree
    process_single(root, tmp_path / "out")
    process_single(root, tmp_path / "out")
    with Store(tmp_path / "via-parts.duckdb") as store:
        assert load_parquet(store, tmp_path / "out").stored == good
    with Store(tmp_path / "direct.duckdb") as store:
        assert ingest_files(store, [root]).stored == good


def test_a_mark_that_cannot_be_written_costs_only_a_second_processing(
    tree: tuple[Path, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, good = tree
    out = tmp_path / "out"

    def disk_full(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(file_task, "write_mark", disk_full)
    first = process_single(root, out)
    assert (first.written, first.failed_files) == (good, {})
    monkeypatch.undo()
    again = process_single(root, out)
    assert (again.files, again.reused_files, again.written) == (FILES, 0, good)


def test_the_daily_round_reads_only_what_is_new(tree: tuple[Path, int], tmp_path: Path) -> None:
    # A tree synced every day: process into the same --out, load into the same store; each round
    # processes the new input files and loads their parts only.
    root, good = tree
    out, db = tmp_path / "out", tmp_path / "s.duckdb"
    process_single(root, out)
    with Store(db) as store:
        assert load_parquet(store, out).stored == good
    day = root / "20240303" / "00" / "RU" / "webconnectivity"
    day.mkdir(parents=True)
    gzip_text = "\n".join(json.dumps(measurement(7000 + i, "web_connectivity", "RU", "2024-03-03")) for i in range(4))
    (day / "2024_RU_web_connectivity.n0.0.jsonl.gz").write_bytes(gzip.compress(gzip_text.encode()))
    assert process_single(root, out).files == 1
    with Store(db) as store:
        loaded = load_parquet(store, out)
        assert (loaded.parts, loaded.rows, loaded.stored, loaded.parts_read_before) == (1, 4, 4, FILES)
        assert store.count() == good + 4


def test_a_load_that_skipped_rows_records_no_part(tree: tuple[Path, int], tmp_path: Path) -> None:
    root, good = tree
    out, db = tmp_path / "out", tmp_path / "s.duckdb"
    process_single(root, out, raw="link")
    victim = inputs(root)[0]
    hidden = victim.with_name("hidden")
    victim.rename(hidden)
    with Store(db) as store:
        first = load_parquet(store, out)
        assert first.skipped and first.stored == good - PER_FILE
    hidden.rename(victim)
    with Store(db) as store:
        again = load_parquet(store, out)  # every part read again, the missing rows stored now
        assert (again.parts_read_before, again.stored) == (0, PER_FILE)
        assert load_parquet(store, out).parts_read_before == again.parts
