"""`censorwatch reanalyse` gives stored measurements the verdicts of the installed code, reading
each back as received (cans and frames), rewriting only rows whose verdict changed."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from censorwatch.cli.main import app
from censorwatch.sources.ingest import ingest_files
from censorwatch.sources.reanalysis import reanalyse
from censorwatch.store import Store
from censorwatch.store.cans import cans_directory
from tests.unit.test_cans import gzip_file, line

pytestmark = pytest.mark.integration

STALE = "a rule of an older censorwatch"


def _store(tmp_path: Path) -> Path:
    db = tmp_path / "s.duckdb"
    gzipped = gzip_file(tmp_path / "ru.jsonl.gz", [line(i) for i in range(30)])  # rows in a can
    single = tmp_path / "one.json"
    single.write_bytes(line(500))  # a row with a zstd frame
    with Store(db) as store:
        assert ingest_files(store, [gzipped, single]).stored == 31
    return db


def _verdicts(db: Path) -> dict[str, tuple[object, ...]]:
    with Store(db, read_only=True) as store:
        rows = store.con.execute(
            "SELECT measurement_uid, verdict, blocking, fingerprint, reason, ooni_blocking, analyzer_version "
            "FROM measurements"
        ).fetchall()
    return {row[0]: row[1:] for row in rows}


def _make_stale(db: Path, where: str) -> int:
    with Store(db) as store:
        rows = store.con.execute(
            f"UPDATE measurements SET verdict = 'anomaly', blocking = 'dns', reason = '{STALE}' WHERE {where}"
        ).fetchall()
    return int(rows[0][0])


def test_only_changed_verdicts_are_rewritten_from_cans_and_frames(tmp_path: Path) -> None:
    db = _store(tmp_path)
    fresh = _verdicts(db)
    stale = _make_stale(db, "raw_can IS NULL OR raw_offset < 2000")
    assert stale >= 2
    with Store(db) as store:
        result = reanalyse(store)
    assert (result.read, result.changed, result.unreadable) == (31, stale, 0)
    assert _verdicts(db) == fresh
    assert {before for before, _ in result.transitions} == {"anomaly (dns)"}
    assert sum(result.transitions.values()) == stale
    with Store(db) as store:
        again = reanalyse(store)
    assert (again.read, again.changed) == (31, 0)


def test_filters_choose_the_rows(tmp_path: Path) -> None:
    db = _store(tmp_path)
    fresh = _verdicts(db)
    _make_stale(db, "true")
    with Store(db) as store:
        result = reanalyse(store, probe_cc="ru", test_name="web_connectivity")
        assert result.read == 31
        none = reanalyse(store, probe_cc="IR")
        assert none.read == 0
    assert _verdicts(db) == fresh


def test_a_damaged_can_is_counted_and_the_rest_done(tmp_path: Path) -> None:
    db = _store(tmp_path)
    fresh = _verdicts(db)
    _make_stale(db, "true")
    can = next(cans_directory(db).iterdir())
    can.write_bytes(b"\x1f\x8b not gzip any more")
    result = CliRunner().invoke(app, ["reanalyse", "--db", str(db)])
    said = " ".join(result.stderr.split())
    assert result.exit_code == 1, result.output
    assert "re-analysed 31 measurements: verdict changed for 1, unchanged 0, unreadable 30" in said
    assert "could not be read back and keep their verdicts" in said
    now = _verdicts(db)
    assert sum(now[uid] == fresh[uid] for uid in fresh) == 1  # the frame's row
    assert sum(row[3] == STALE for row in now.values()) == 30


def test_cli_says_what_changed(tmp_path: Path) -> None:
    db = _store(tmp_path)
    _make_stale(db, "raw_can IS NULL")
    result = CliRunner().invoke(app, ["reanalyse", "--db", str(db)])
    assert result.exit_code == 0, result.output
    said = " ".join(result.stderr.split())
    assert "re-analysed 31 measurements: verdict changed for 1, unchanged 30, unreadable 0" in said
    assert "1 x anomaly (dns) -> " in said
    nothing = CliRunner().invoke(app, ["reanalyse", "--db", str(db), "--probe-cc", "IR"])
    assert nothing.exit_code == 1 and "no stored measurement matches" in nothing.stderr
    missing = CliRunner().invoke(app, ["reanalyse", "--db", str(tmp_path / "none.duckdb")])
    assert missing.exit_code == 2 and "no store at" in missing.stderr


def test_a_stopped_run_writes_the_verdicts_it_judged(tmp_path: Path) -> None:
    db = _store(tmp_path)
    assert _make_stale(db, "true") == 31
    judged = 0

    def stop_after_five(count: int) -> None:
        nonlocal judged
        judged += count
        if judged == 5:
            raise KeyboardInterrupt

    with Store(db) as store, pytest.raises(KeyboardInterrupt):
        reanalyse(store, on_progress=stop_after_five)
    stale = [uid for uid, columns in _verdicts(db).items() if columns[3] == STALE]
    assert len(stale) == 31 - 5
    with Store(db) as store:
        assert reanalyse(store).changed == 31 - 5
