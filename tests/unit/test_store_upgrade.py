"""A store written by schema version 1 (raw JSON as text) moves to version 2 (zstd frames) on
the first writable open, loses nothing, survives being interrupted, and a read-only open of an
old store says what to do instead of failing on a missing column."""

from __future__ import annotations

from pathlib import Path

import duckdb
import orjson
import pytest

from censorwatch.analysis.record import analysed_record
from censorwatch.store import Store
from censorwatch.store import upgrade as upgrade_module
from censorwatch.store.database import StoreError
from censorwatch.store.raw_access import RawFetcher, RawUnavailable
from censorwatch.store.raw_codec import compress, decompress
from censorwatch.store.schema import PART_COLUMNS

V1_COLUMNS = [name for name in PART_COLUMNS if name != "raw_zstd"] + ["raw"]


def measurement(i: int) -> dict[str, object]:
    return {
        "test_name": "web_connectivity",
        "input": f"https://{i}.example/",
        "probe_cc": "RU",
        "probe_asn": "AS12389",
        "measurement_start_time": "2026-01-02 03:04:05",
        "test_keys": {"blocking": False, "note": "Доступ ограничен " * (i % 3)},
    }


def make_v1_store(path: Path, count: int) -> dict[str, str]:
    """The version 1 layout, as the code before schema version 2 created it; returns uid -> raw."""
    con = duckdb.connect(str(path))
    types = {"measurement_uid": "VARCHAR PRIMARY KEY", "measurement_start_time": "TIMESTAMP", "raw": "VARCHAR NOT NULL"}
    columns = ", ".join(f"{name} {types.get(name, 'VARCHAR')}" for name in V1_COLUMNS)
    con.execute(f"CREATE TABLE measurements ({columns})")
    con.execute("CREATE TABLE schema_info (key VARCHAR PRIMARY KEY, value VARCHAR)")
    con.execute("INSERT INTO schema_info VALUES ('version', '1')")
    raws: dict[str, str] = {}
    for i in range(count):
        row = analysed_record(measurement(i), "ooni").row()
        text = orjson.dumps(measurement(i)).decode() + " "  # as received, not as we would write it
        row.pop("raw_zstd")
        row["raw"] = text
        raws[row["measurement_uid"]] = text
        names, marks = ", ".join(row), ", ".join("?" * len(row))
        con.execute(f"INSERT INTO measurements ({names}) VALUES ({marks})", list(row.values()))
    con.close()
    return raws


def stored_raws(path: Path) -> dict[str, str]:
    with Store(path, read_only=True) as store:
        return {row["measurement_uid"]: row["raw"].decode() for row in store.iter_measurements()}


def test_codec_round_trip_and_damaged_frames() -> None:
    data = orjson.dumps(measurement(2))
    frame = compress(data)
    assert decompress(frame) == data and len(frame) < len(data)
    fetcher = RawFetcher(None)
    assert fetcher.raw({"raw_zstd": frame}) == data
    for damaged in (b"not a frame", frame[:-3], None):
        with pytest.raises(RawUnavailable):
            fetcher.raw({"raw_zstd": damaged})


def test_a_version_1_store_is_upgraded_on_a_writable_open(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    raws = make_v1_store(path, 25)
    with pytest.raises(StoreError, match="older censorwatch"):
        Store(path, read_only=True)
    with Store(path) as store:
        assert store.count() == 25
        version = store.con.execute("SELECT value FROM schema_info WHERE key = 'version'").fetchall()
        assert version == [("3",)]
        # Writing goes on as usual, and the primary key survived the move.
        assert store.add([analysed_record(measurement(0), "ooni"), analysed_record(measurement(99), "ooni")]) == 1
    assert {uid: raws[uid] for uid in raws} == {uid: text for uid, text in stored_raws(path).items() if uid in raws}


def test_an_interrupted_upgrade_carries_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "old.duckdb"
    raws = make_v1_store(path, 25)
    monkeypatch.setattr(upgrade_module, "CHUNK", 10)
    calls = 0

    def killed_after_first_chunk(rows: int) -> None:
        nonlocal calls
        calls += 1
        raise KeyboardInterrupt  # as if the process died between two chunks

    con = duckdb.connect(str(path))
    with pytest.raises(KeyboardInterrupt):
        upgrade_module.upgrade(con, on_chunk=killed_after_first_chunk)
    assert con.execute("SELECT count(*) FROM measurements").fetchone() == (25,)
    assert con.execute(f"SELECT count(*) FROM {upgrade_module.NEW_TABLE}").fetchone() == (10,)
    con.close()
    with Store(path) as store:
        assert store.count() == 25
    assert stored_raws(path) == raws
    assert calls == 1
