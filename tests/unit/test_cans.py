"""Gzip files kept whole as cans (store/cans.py): rows point into them, the bytes read back are
the bytes received, re-ingesting keeps nothing twice, and a crash or a damaged can never costs
the other measurements."""

from __future__ import annotations

import gzip
import io
import random
from pathlib import Path

import duckdb
import orjson
import pytest

from censorwatch import gzip_stream
from censorwatch.sources.ingest import ingest_files
from censorwatch.store import Store
from censorwatch.store.cans import cans_directory
from censorwatch.store.export import write_measurements
from censorwatch.store.raw_access import CanReader, RawUnavailable
from censorwatch.web.queries import measurement as web_measurement


def line(i: int, pad: int = 0) -> bytes:
    document = {
        "measurement_uid": f"20260101000000.000000_RU_webconnectivity_{i:016x}",
        "test_name": "web_connectivity",
        "input": f"https://{i}.example/",
        "probe_cc": "RU",
        "probe_asn": "AS12389",
        "measurement_start_time": f"2026-01-0{1 + i % 3} 03:04:{i % 60:02d}",
        "test_keys": {"blocking": False, "note": "Доступ ограничен " * (i % 5), "pad": "x" * pad},
    }
    return orjson.dumps(document)


def gzip_file(path: Path, lines: list[bytes], members: int = 1) -> Path:
    """JSON Lines as `members` gzip members one after another; some lines with whitespace around."""
    chunks = [lines[i::members] for i in range(members)] if members > 1 else [lines]
    with path.open("wb") as out:
        for chunk in chunks:
            out.write(gzip.compress(b"".join(b"  " + item + b" \r\n" if n % 4 == 1 else item + b"\n"
                                             for n, item in enumerate(chunk))))
    return path


def stored_raws(store: Store) -> dict[str, bytes]:
    return {row["measurement_uid"]: row["raw"] for row in store.iter_measurements()}


def uid_of(raw: bytes) -> str:
    return str(orjson.loads(raw)["measurement_uid"])


def test_rows_point_into_a_kept_copy_and_read_back_as_received(tmp_path: Path) -> None:
    lines = [line(i, pad=i * 700) for i in range(40)]
    source = gzip_file(tmp_path / "in.jsonl.gz", lines, members=3)
    with Store(tmp_path / "s.duckdb") as store:
        stats = ingest_files(store, [source])
        assert (stats.read, stats.stored, sum(stats.skipped.values())) == (40, 40, 0)
        pointers = store.con.execute(
            "SELECT count(*), count(raw_zstd), count(DISTINCT raw_can) FROM measurements"
        ).fetchall()
        assert pointers == [(40, 0, 1)]
        cans = store.con.execute("SELECT can_id, source, bytes FROM cans").fetchall()
        assert [(c[1], c[2]) for c in cans] == [(str(source), source.stat().st_size)]
        assert stored_raws(store) == {uid_of(item): item for item in lines}
    kept = sorted(cans_directory(tmp_path / "s.duckdb").iterdir())
    assert [p.name for p in kept] == [f"{cans[0][0]}.jsonl.gz"]
    assert kept[0].read_bytes() == source.read_bytes()


def test_export_gives_every_line_back_in_time_order_across_chunks(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from censorwatch.store import export

    monkeypatch.setattr(export, "CHUNK_BYTES", 3000)  # many chunks, so cans are read again
    lines = [line(i, pad=(i * 37) % 900) for i in range(60)]
    files = [gzip_file(tmp_path / f"f{k}.jsonl.gz", lines[k::3]) for k in range(3)]
    with Store(tmp_path / "s.duckdb") as store:
        ingest_files(store, files)
        out = io.BytesIO()
        result = write_measurements(store, out)
    written = out.getvalue().splitlines()
    assert (result.written, result.damaged) == (60, 0)
    assert sorted(written) == sorted(lines)
    times = [orjson.loads(item)["measurement_start_time"] for item in written]
    assert times == sorted(times)


def test_reingesting_keeps_nothing_twice_and_a_partial_overlap_keeps_only_the_new(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    first = gzip_file(tmp_path / "a.jsonl.gz", [line(i) for i in range(10)])
    overlap = gzip_file(tmp_path / "b.jsonl.gz", [line(i) for i in range(5, 15)])
    with Store(db) as store:
        ingest_files(store, [first])
        again = ingest_files(store, [first], reread=True)
        assert (again.stored, again.duplicates) == (0, 10)
        assert len(list(cans_directory(db).iterdir())) == 1
        more = ingest_files(store, [overlap])
        assert (more.stored, more.duplicates) == (5, 5)
        per_can = store.con.execute(
            "SELECT c.source, count(*) FROM measurements m JOIN cans c ON m.raw_can = c.can_id GROUP BY 1 ORDER BY 1"
        ).fetchall()
        assert per_can == [(str(first), 10), (str(overlap), 5)]
        assert stored_raws(store) == {uid_of(line(i)): line(i) for i in range(15)}
    assert len(list(cans_directory(db).iterdir())) == 2


def test_leftovers_of_a_crash_are_swept_and_listed_cans_stay(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    with Store(db) as store:
        ingest_files(store, [gzip_file(tmp_path / "a.jsonl.gz", [line(i) for i in range(5)])])
    shelf = cans_directory(db)
    (shelf / "0123.staged.jsonl.gz").write_bytes(b"half a copy")  # killed while reading a file
    (shelf / "4567.jsonl.gz").write_bytes(gzip.compress(line(99)))  # kept, but the commit never came
    with Store(db) as store:
        assert stored_raws(store) == {uid_of(line(i)): line(i) for i in range(5)}
    assert len(list(shelf.iterdir())) == 1


def kill_after_cans(command: list[str], db: Path, cans: int) -> None:
    """Run `command` (which writes the store `db`) and SIGKILL it once `cans` cans are kept."""
    import os
    import signal
    import subprocess
    import time

    child = subprocess.Popen(command)
    deadline = time.monotonic() + 60
    shelf = cans_directory(db)
    while time.monotonic() < deadline and child.poll() is None:
        if shelf.is_dir() and len([p for p in shelf.iterdir() if not p.name.endswith(".staged.jsonl.gz")]) >= cans:
            break
        time.sleep(0.005)
    if child.poll() is None:
        os.kill(child.pid, signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL, "the command ended before it could be killed"


def test_a_killed_ingest_leaves_whole_measurements_that_read_back(tmp_path: Path) -> None:
    import sys

    db = tmp_path / "s.duckdb"
    files = [gzip_file(tmp_path / f"f{k}.jsonl.gz", [line(k * 1000 + i, pad=2000) for i in range(300)])
             for k in range(40)]
    script = (
        "import sys; from pathlib import Path; from censorwatch.store import Store; "
        "from censorwatch.sources.ingest import ingest_files; import censorwatch.sources.ingest as m; "
        "m.BATCH = 50\n"
        "with Store(Path(sys.argv[1])) as s: ingest_files(s, [Path(p) for p in sys.argv[2:]])"
    )
    kill_after_cans([sys.executable, "-c", script, str(db), *map(str, files)], db, 3)
    with Store(db) as store:
        raws = stored_raws(store)
        assert 0 < len(raws) < 40 * 300 and all(raw == line(int(uid[-16:], 16), pad=2000) for uid, raw in raws.items())
        listed = {row[0] for row in store.con.execute("SELECT can_id FROM cans").fetchall()}
    assert {p.name.removesuffix(".jsonl.gz") for p in cans_directory(db).iterdir()} == listed
    with Store(db) as store:  # and the ingest carries on where it stopped
        ingest_files(store, files)
        assert store.count() == 40 * 300


def test_a_damaged_or_missing_can_is_counted_never_fatal(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    good = [line(i) for i in range(5)]
    with Store(db) as store:
        ingest_files(store, [gzip_file(tmp_path / "a.jsonl.gz", good)])
        ingest_files(store, [gzip_file(tmp_path / "b.jsonl.gz", [line(i) for i in range(5, 10)])])
        sources = dict(store.con.execute("SELECT source, can_id FROM cans").fetchall())
    shelf = cans_directory(db)
    (shelf / f"{sources[str(tmp_path / 'b.jsonl.gz')]}.jsonl.gz").write_bytes(b"\x1f\x8b damaged")
    with Store(db, read_only=True) as store:
        out = io.BytesIO()
        result = write_measurements(store, out)
        assert (result.written, result.damaged) == (5, 5)
        assert sorted(out.getvalue().splitlines()) == sorted(good)
        with pytest.raises(RawUnavailable):
            stored_raws(store)
    con = duckdb.connect(str(db), read_only=True)
    shown = web_measurement(con, uid_of(line(7)))
    assert shown is not None and shown["raw"] is None and shown["verdict"] is not None
    shown = web_measurement(con, uid_of(line(2)))
    assert shown is not None and shown["raw"] == orjson.loads(line(2))
    con.close()


def test_other_files_and_stores_in_memory_keep_frames(tmp_path: Path) -> None:
    plain = tmp_path / "p.jsonl"
    plain.write_bytes(b"\n".join(line(i) for i in range(3)) + b"\n")
    with Store(tmp_path / "s.duckdb") as store:
        ingest_files(store, [plain])
        assert store.con.execute("SELECT count(raw_zstd), count(raw_can) FROM measurements").fetchall() == [(3, 0)]
    with Store(":memory:") as store:
        ingest_files(store, [gzip_file(tmp_path / "g.jsonl.gz", [line(i) for i in range(3)])])
        assert store.con.execute("SELECT count(raw_zstd), count(raw_can) FROM measurements").fetchall() == [(3, 0)]
        assert stored_raws(store) == {uid_of(line(i)): line(i) for i in range(3)}


def test_can_reader_serves_spans_in_any_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gzip_stream, "STEP_BYTES", 97)  # spans cross many inflated blocks
    data = bytes(random.Random(3).randrange(256) for _ in range(20_000))
    path = tmp_path / "c.jsonl.gz"
    path.write_bytes(gzip.compress(data[:7000]) + gzip.compress(data[7000:]))
    reader = CanReader(path)
    spans = [(random.Random(i).randrange(19_000), random.Random(-i).randrange(1, 1000)) for i in range(200)]
    for offset, length in spans + sorted(spans):
        assert reader.read(offset, length) == data[offset : offset + length]
    with pytest.raises(RawUnavailable, match="ends before"):
        reader.read(19_990, 20)
    reader.close()
    with pytest.raises(RawUnavailable, match="cannot be opened"):
        CanReader(tmp_path / "gone.jsonl.gz").read(0, 1)


def test_spans_no_measurement_could_have_are_refused_before_reading(tmp_path: Path) -> None:
    from censorwatch.sources.ooni_files import MAX_LINE_BYTES
    from censorwatch.store.raw_access import MAX_SPAN

    assert MAX_SPAN == MAX_LINE_BYTES  # the longest line a reader accepts
    path = tmp_path / "c.jsonl.gz"
    path.write_bytes(gzip.compress(b"x" * 1000))
    reader = CanReader(path)
    for offset, length in ((-5, 10), (0, -1), (0, MAX_SPAN + 1)):
        with pytest.raises(RawUnavailable, match="no measurement spans"):
            reader.read(offset, length)
    assert reader.read(990, 10) == b"x" * 10
    reader.close()


def test_a_can_cut_short_keeps_and_reads_back_what_came_before_the_damage(tmp_path: Path) -> None:
    lines = [line(i, pad=3000) for i in range(30)]
    whole = gzip.compress(b"\n".join(lines) + b"\n")
    source = tmp_path / "cut.jsonl.gz"
    source.write_bytes(whole[: len(whole) * 2 // 3])
    with Store(tmp_path / "s.duckdb") as store:
        stats = ingest_files(store, [source])
        assert stats.skipped == {"unreadable file (cut short)": 1}
        assert 0 < stats.stored < 30
        raws = stored_raws(store)
        out = io.BytesIO()
        result = write_measurements(store, out)
    assert raws == {uid_of(item): item for item in lines[: stats.stored]}
    assert (result.written, result.damaged) == (stats.stored, 0)


def test_a_file_that_cannot_be_copied_is_stored_as_frames(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from censorwatch.store.cans import CanShelf

    def no_room(self: CanShelf, source: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(CanShelf, "stage", no_room)
    lines = [line(i) for i in range(6)]
    with Store(tmp_path / "s.duckdb") as store:
        stats = ingest_files(store, [gzip_file(tmp_path / "a.jsonl.gz", lines)])
        assert (stats.stored, sum(stats.skipped.values())) == (6, 0)
        assert store.con.execute("SELECT count(raw_zstd), count(raw_can) FROM measurements").fetchall() == [(6, 0)]
        assert stored_raws(store) == {uid_of(item): item for item in lines}


def test_each_file_is_copied_while_the_one_before_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The next file's can is copied in a thread while this one is read (sources/ingest.py,
    _CopyAhead): reading the first file here waits until the second is copied, which never
    happens when copies are made only once their file's turn comes."""
    import threading

    from censorwatch.sources import ingest
    from censorwatch.store.cans import CanShelf

    files = [gzip_file(tmp_path / f"f{k}.jsonl.gz", [line(k * 100 + i) for i in range(5)]) for k in range(3)]
    copied_second = threading.Event()
    stage, read_records = CanShelf.stage, ingest.read_records

    def staging(self: CanShelf, source: Path) -> object:
        can = stage(self, source)
        if source == files[1]:
            copied_second.set()
        return can

    def reading(path: Path, shown_as: Path | None = None) -> object:
        if shown_as == files[0]:
            assert copied_second.wait(10), "the next file was not copied while this one was read"
        return read_records(path, shown_as)

    monkeypatch.setattr(CanShelf, "stage", staging)
    monkeypatch.setattr(ingest, "read_records", reading)
    with Store(tmp_path / "s.duckdb") as store:
        assert ingest_files(store, files).stored == 15
        assert store.con.execute("SELECT count(*) FROM cans").fetchall() == [(3,)]


def test_a_run_stopped_mid_tree_deletes_the_copy_made_ahead(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from censorwatch.sources import ingest

    monkeypatch.setattr(ingest, "BATCH", 5)
    files = [gzip_file(tmp_path / f"f{k}.jsonl.gz", [line(k * 100 + i) for i in range(5)]) for k in range(4)]

    def stop(count: int) -> None:
        raise KeyboardInterrupt

    db = tmp_path / "s.duckdb"
    with Store(db) as store:
        with pytest.raises(KeyboardInterrupt):
            ingest_files(store, files, on_progress=stop)
        # Still open: the first file's rows and can are stored; the second file, copied while
        # the first was read, left no copy behind.
        listed = {row[0] for row in store.con.execute("SELECT can_id FROM cans").fetchall()}
        assert store.count() == 5 and len(listed) == 1
        assert {p.name.removesuffix(".jsonl.gz") for p in cans_directory(db).iterdir()} == listed
        assert ingest_files(store, files).stored == 15
