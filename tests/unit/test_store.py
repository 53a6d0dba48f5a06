from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from censorwatch.analysis.record import analysed_record
from censorwatch.model.measurement import MalformedMeasurement, measurement_uid, meta_of
from censorwatch.store import Store
from censorwatch.store.export import verdict_rows, write_rows
from censorwatch.store.raw_access import RawFetcher, RawUnavailable
from censorwatch.store.raw_codec import compress, decompress


def _measurement(target: str, start: str = "2026-01-02 03:04:05") -> dict[str, object]:
    return {
        "test_name": "some_future_test",
        "input": target,
        "probe_cc": "ru",
        "probe_asn": "AS12389",
        "measurement_start_time": start,
        "test_keys": {"blocking": False},
    }


def test_uid_is_deterministic_and_content_sensitive() -> None:
    a = _measurement("https://a.example/")
    assert measurement_uid(a) == measurement_uid(dict(a))
    assert measurement_uid(a) != measurement_uid(_measurement("https://b.example/"))
    assert measurement_uid(a).startswith("20260102030405_RU_somefuturetest_")
    assert measurement_uid({**a, "measurement_uid": "given"}) == "given"


def test_meta_rejects_non_measurements() -> None:
    with pytest.raises(MalformedMeasurement):
        meta_of([1, 2])
    with pytest.raises(MalformedMeasurement):
        meta_of({"input": "x"})
    meta = meta_of(_measurement("https://Example.ORG/path"))
    assert meta.domain == "example.org"
    assert meta.probe_cc == "RU"


def test_add_is_idempotent_and_unknown_tests_are_not_analysed(db_file: Path) -> None:
    records = [analysed_record(_measurement(f"https://{i}.example/"), "ooni") for i in range(5)]
    with Store(db_file) as store:
        assert store.add(records) == 5
        assert store.add(records + records) == 0
        assert store.count() == 5
        rows = list(verdict_rows(store, probe_cc="ru"))
    assert len(rows) == 5
    assert {row["reason"] for row in rows} == {"not analysed"}
    assert {row["verdict"] for row in rows} == {None}
    assert {row["ooni_blocking"] for row in rows} == {"false"}


def test_a_batch_mixing_stored_and_new_measurements_adds_only_the_new(db_file: Path) -> None:
    # The fast path (plain INSERT) fails on the stored ones; the batch must then still store the
    # new ones exactly once, and keep the first copy of the stored ones untouched.
    old = [analysed_record(_measurement(f"https://{i}.example/"), "ooni") for i in range(3)]
    new = [analysed_record(_measurement(f"https://{i}.example/"), "ooni") for i in range(3, 6)]
    changed = [analysed_record(_measurement(f"https://{i}.example/"), "probe") for i in range(3)]
    with Store(db_file) as store:
        assert store.add(old) == 3
        assert store.add([*changed, *new, new[0]]) == 3
        assert store.count() == 6
        sources = dict(store.con.execute("SELECT input, source FROM measurements").fetchall())
    assert {sources[f"https://{i}.example/"] for i in range(3)} == {"ooni"}
    assert {sources[f"https://{i}.example/"] for i in range(3, 6)} == {"ooni"}


def test_export_csv_and_jsonl(db_file: Path, tmp_path: Path) -> None:
    import csv
    import io
    import json

    with Store(db_file) as store:
        store.add([analysed_record(_measurement("https://x.example/"), "probe")])
        out = io.StringIO()
        assert write_rows(verdict_rows(store), out, "csv") == 1
        parsed = list(csv.DictReader(io.StringIO(out.getvalue())))
        assert parsed[0]["input"] == "https://x.example/"
        assert parsed[0]["measurement_start_time"] == "2026-01-02 03:04:05"
        out = io.StringIO()
        write_rows(verdict_rows(store), out, "jsonl")
        assert json.loads(out.getvalue())["probe_asn"] == "AS12389"
    with pytest.raises(ValueError):
        write_rows(iter([]), io.StringIO(), "xml")


def test_writer_memory_is_capped_and_can_be_raised(db_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """DuckDB would keep what it wrote cached up to 80 % of RAM: a writing store is capped so that
    ingest memory stays flat; $CENSORWATCH_DB_MEMORY raises the cap, and a bad value is refused."""
    from censorwatch.store.connection import StoreError

    def limit_of(store: Store) -> str:
        row = store.con.execute("SELECT current_setting('memory_limit')").fetchone()
        assert row is not None
        return str(row[0])

    monkeypatch.delenv("CENSORWATCH_DB_MEMORY", raising=False)
    with Store(db_file) as store:
        assert limit_of(store) == "953.6 MiB"  # 1 GB
    monkeypatch.setenv("CENSORWATCH_DB_MEMORY", "4GB")
    with Store(db_file) as store:
        assert limit_of(store) == "3.7 GiB"
    monkeypatch.setenv("CENSORWATCH_DB_MEMORY", "lots")
    with pytest.raises(StoreError, match="CENSORWATCH_DB_MEMORY"):
        Store(db_file)
    with Store(db_file, read_only=True) as store:  # readers are not capped: the web app's queries
        assert limit_of(store) != "953.6 MiB"


def test_ingest_inserts_on_one_thread_and_gives_the_threads_back(tmp_path: Path) -> None:
    from censorwatch.sources.ingest import ingest_records
    from censorwatch.sources.ooni_files import RawRecord

    def threads(store: Store) -> int:
        return int(store.con.execute("SELECT current_setting('threads')").fetchall()[0][0])

    seen: list[int] = []
    with Store(tmp_path / "s.duckdb") as store:
        store.con.execute("SET threads = 3")

        def records() -> object:
            yield RawRecord(_measurement("https://a.example/"), None, None, "a")
            seen.append(threads(store))
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            ingest_records(store, records())  # type: ignore[arg-type]
        assert seen == [1] and threads(store) == 3 and store.count() == 1


def test_codec_round_trip_and_damaged_frames() -> None:
    data = orjson.dumps({**_measurement("https://a.example/"), "test_keys": {"note": "Доступ ограничен " * 2}})
    frame = compress(data)
    assert decompress(frame) == data and len(frame) < len(data)
    fetcher = RawFetcher(None)
    assert fetcher.raw({"raw_zstd": frame}) == data
    for damaged in (b"not a frame", frame[:-3], None):
        with pytest.raises(RawUnavailable):
            fetcher.raw({"raw_zstd": damaged})
