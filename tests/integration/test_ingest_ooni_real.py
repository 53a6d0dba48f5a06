"""Every file of ../shared/data/ooni goes through the real `censorwatch ingest ooni` and export."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from censorwatch.model.measurement import measurement_uid
from censorwatch.sources.ooni_files import expand_paths, read_records

pytestmark = pytest.mark.integration


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "censorwatch", *args], capture_output=True, text=True, timeout=120)


def test_every_real_file_is_read(shared_data: Path) -> None:
    files = list(expand_paths([shared_data / "ooni" / "measurements"]))
    assert len(files) == 46
    for path in files:
        records = list(read_records(path))
        assert records, path
        assert all(r.error is None for r in records), [(r.location, r.error) for r in records if r.error]


def test_ingest_twice_then_export(shared_data: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "store.duckdb")
    first = _cli("ingest", "ooni", str(shared_data / "ooni" / "measurements"), "--db", db)
    assert first.returncode == 0, first.stderr
    assert "stored 46" in first.stderr
    # Every file was read to the end: the same command reads none of them again, --reread all.
    second = _cli("ingest", "ooni", str(shared_data / "ooni" / "measurements"), "--db", db)
    assert second.returncode == 0, second.stderr
    assert "read 0 records: stored 0" in second.stderr
    files = len(list(expand_paths([shared_data / "ooni" / "measurements"])))
    assert f"not read again: {files} (" in " ".join(second.stderr.split())
    third = _cli("ingest", "ooni", str(shared_data / "ooni" / "measurements"), "--db", db, "--reread")
    assert "stored 0, already stored 46" in third.stderr
    exported = _cli("export", "verdicts", "--db", db, "--format", "csv")
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert len(rows) == 46
    by_uid = {row["measurement_uid"]: row for row in rows}
    assert any(row["verdict"] == "confirmed" and row["fingerprint"] for row in by_uid.values())
    assert {row["reason"] for row in rows if row["test_name"] == "browser_web"} == {"not analysed"}

    # Out again in OONI's format: every measurement as it was read, pretty-printed ones on one line.
    out = _cli("export", "measurements", "--db", db)
    assert out.returncode == 0, out.stderr
    files = expand_paths([shared_data / "ooni" / "measurements"])
    raws = [bytes(r.raw) for path in files for r in read_records(path) if r.raw is not None]
    as_read = sorted(raw.replace(b"\r", b"").replace(b"\n", b"").decode() for raw in raws)
    assert sorted(out.stdout.splitlines()) == as_read


def test_real_measurements_in_a_gzip_can_give_the_same_verdicts_and_bytes(shared_data: Path, tmp_path: Path) -> None:
    """The same real measurements as JSON Lines in one .jsonl.gz: kept as a can, read back byte
    for byte, and judged as when they came as separate files (kept as frames)."""
    files = list(expand_paths([shared_data / "ooni" / "measurements"]))
    lines = [bytes(r.raw).replace(b"\r", b"").replace(b"\n", b"") for path in files for r in read_records(path)
             if r.raw is not None]
    can = tmp_path / "real.jsonl.gz"
    can.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    framed, canned = str(tmp_path / "framed.duckdb"), str(tmp_path / "canned.duckdb")
    assert _cli("ingest", "ooni", str(shared_data / "ooni" / "measurements"), "--db", framed).returncode == 0
    done = _cli("ingest", "ooni", str(can), "--db", canned)
    assert done.returncode == 0 and "stored 46" in done.stderr, done.stderr
    assert len(list(Path(canned + ".cans").iterdir())) == 1
    verdicts = [_cli("export", "verdicts", "--db", db, "--format", "csv").stdout for db in (framed, canned)]
    assert _without_uids(verdicts[1]) == _without_uids(verdicts[0])
    # A uid is derived from the JSON as received (model/measurement.py): a pretty-printed file and
    # its measurement on one line are two serialisations, with two uids (both genuine).
    records = [(r.measurement, bytes(r.raw)) for path in files for r in read_records(path) if r.measurement is not None]
    assert _uids(verdicts[0]) == {measurement_uid(measurement, raw) for measurement, raw in records}
    assert _uids(verdicts[1]) == {measurement_uid(json.loads(line), line) for line in lines}
    # The same uid in both stores: measurements that carry OONI's, or were on one line already.
    same = sum("measurement_uid" in m or raw == line for (m, raw), line in zip(records, lines, strict=True))
    assert len(_uids(verdicts[0]) & _uids(verdicts[1])) == same == 26
    out = _cli("export", "measurements", "--db", canned)
    assert out.returncode == 0, out.stderr
    assert sorted(out.stdout.encode().splitlines()) == sorted(lines)


def _without_uids(exported: str) -> list[tuple[str, ...]]:
    rows = csv.DictReader(io.StringIO(exported))
    return sorted(tuple(v for k, v in row.items() if k != "measurement_uid") for row in rows)


def _uids(exported: str) -> set[str]:
    return {row["measurement_uid"] for row in csv.DictReader(io.StringIO(exported))}


def test_store_errors_are_messages_not_tracebacks(tmp_path: Path) -> None:
    source = tmp_path / "one.jsonl"
    source.write_text('{"test_name": "tor", "probe_cc": "IR"}\n')
    done = subprocess.run(
        [sys.executable, "-m", "censorwatch", "ingest", "ooni", str(source), "--db", str(tmp_path / "s.duckdb")],
        capture_output=True, text=True, timeout=120, env={**os.environ, "CENSORWATCH_DB_MEMORY": "lots"},
    )
    assert done.returncode == 2
    assert "CENSORWATCH_DB_MEMORY" in done.stderr and "Traceback" not in done.stderr


def test_clear_errors(tmp_path: Path) -> None:
    missing = _cli("ingest", "ooni", str(tmp_path / "none"), "--db", str(tmp_path / "s.duckdb"))
    assert missing.returncode != 0 and "no such file" in missing.stderr
    partial = _cli("ingest", "ooni", "--from-api", "--probe-cc", "RU", "--db", str(tmp_path / "s.duckdb"))
    assert partial.returncode != 0 and "--since" in partial.stderr


def test_reanalysing_the_real_store_changes_nothing(shared_data: Path, tmp_path: Path) -> None:
    # Read back as received (frames and a can), the real measurements get the verdicts ingest gave.
    db = str(tmp_path / "store.duckdb")
    lines = [bytes(r.raw).replace(b"\r", b"").replace(b"\n", b"")
             for path in expand_paths([shared_data / "ooni" / "measurements"]) for r in read_records(path)
             if r.raw is not None]
    (tmp_path / "real.jsonl.gz").write_bytes(gzip.compress(b"\n".join(lines)))
    assert _cli("ingest", "ooni", str(shared_data / "ooni" / "measurements"), "--db", db).returncode == 0
    assert _cli("ingest", "ooni", str(tmp_path / "real.jsonl.gz"), "--db", db).returncode == 0
    done = _cli("reanalyse", "--db", db)
    assert done.returncode == 0, done.stderr
    said = " ".join(done.stderr.split())
    assert "verdict changed for 0," in said and "unreadable 0" in said
    read = int(said.split("re-analysed ")[1].split(" ")[0])
    assert read > 46  # the pretty-printed ones are stored twice (sha256 of the bytes)
