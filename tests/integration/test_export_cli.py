"""`censorwatch export measurements` and `export verdicts --format parquet` through the real CLI:
what is exported in OONI's format ingests again into the same measurements and verdicts."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

pytestmark = pytest.mark.integration


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "censorwatch", *args], capture_output=True, text=True, timeout=120)


def _measurement(i: int) -> dict[str, object]:
    return {
        "measurement_uid": f"20260301000{i:03d}_RU_telegram_{i:032x}",
        "test_name": "telegram",
        "probe_cc": "RU",
        "probe_asn": "AS12389",
        "measurement_start_time": f"2026-03-01 00:{i % 60:02d}:00",
        "test_keys": {"telegram_http_blocking": i % 2 == 0, "telegram_tcp_blocking": False,
                      "telegram_web_status": "ok", "telegram_web_failure": None},
    }


def _verdicts(db: Path) -> list[dict[str, object]]:
    done = _cli("export", "verdicts", "--db", str(db))
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_measurements_round_trip_through_ooni_jsonl(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl.gz"
    with gzip.open(source, "wb") as handle:
        for i in range(25):
            handle.write(json.dumps(_measurement(i), indent=None).encode() + b"\n")
    first, second = tmp_path / "first.duckdb", tmp_path / "second.duckdb"
    assert _cli("ingest", "ooni", str(source), "--db", str(first)).returncode == 0

    exported = tmp_path / "out.jsonl.gz"
    done = _cli("export", "measurements", "--db", str(first), "-o", str(exported))
    assert done.returncode == 0, done.stderr
    assert "exported 25 measurements" in done.stderr
    with gzip.open(source, "rb") as a, gzip.open(exported, "rb") as b:
        assert sorted(a.read().splitlines()) == sorted(b.read().splitlines())

    assert _cli("ingest", "ooni", str(exported), "--db", str(second)).returncode == 0
    assert _verdicts(first) == _verdicts(second)

    to_stdout = _cli("export", "measurements", "--db", str(first), "--since", "2026-03-01", "--until", "2026-03-02")
    assert len(to_stdout.stdout.splitlines()) == 25


def test_verdicts_parquet_and_clear_errors(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(_measurement(i)) + "\n" for i in range(3)))
    db = tmp_path / "s.duckdb"
    assert _cli("ingest", "ooni", str(source), "--db", str(db)).returncode == 0

    target = tmp_path / "v.parquet"
    done = _cli("export", "verdicts", "--db", str(db), "--format", "parquet", "-o", str(target))
    assert done.returncode == 0, done.stderr
    assert pq.read_table(target).num_rows == 3

    no_file = _cli("export", "verdicts", "--db", str(db), "--format", "parquet")
    assert no_file.returncode != 0 and "--output" in no_file.stderr
    bad_day = _cli("export", "measurements", "--db", str(db), "--since", "yesterday")
    assert bad_day.returncode != 0 and "--since" in bad_day.stderr
    missing = _cli("export", "measurements", "--db", str(tmp_path / "none.duckdb"))
    assert missing.returncode != 0 and "no store" in missing.stderr


def test_a_store_copied_without_its_cans_says_so(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl.gz"
    source.write_bytes(gzip.compress(b"".join(json.dumps(_measurement(i)).encode() + b"\n" for i in range(4))))
    db = tmp_path / "s.duckdb"
    assert _cli("ingest", "ooni", str(source), "--db", str(db)).returncode == 0
    moved = tmp_path / "copy.duckdb"
    db.rename(moved)  # as if only the .duckdb file had been copied
    done = _cli("export", "measurements", "--db", str(moved), "-o", str(tmp_path / "out.jsonl"))
    assert done.returncode == 1
    assert "skipped 4 stored measurements" in done.stderr and ".cans" in done.stderr
    assert "cannot be opened" in done.stderr
    assert len(_verdicts(moved)) == 4  # the verdicts need no raw data
