"""Exports: verdicts as Parquet, measurements back out in OONI's JSON Lines exactly as received."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pyarrow.parquet as pq

from censorwatch.analysis.record import analysed_record
from censorwatch.sources.ooni_files import parse_line
from censorwatch.store import Store
from censorwatch.store.export import VERDICT_EXPORT_COLUMNS, verdict_rows, write_measurements, write_parquet


def _line(i: int, cc: str, test_name: str, start: str) -> bytes:
    # Key order and spacing as a probe might write them: the export must give these bytes back.
    return (
        b'{"test_name": "' + test_name.encode() + b'",  "probe_cc":"' + cc.encode() + b'", "probe_asn": "AS1",'
        b' "input": "https://site' + str(i).encode() + b'.example/", "measurement_start_time": "' + start.encode()
        + b'", "test_keys": {"blocking": false, "note": "\\u0436 caf\xc3\xa9"}}'
    )


LINES = [
    _line(0, "RU", "web_connectivity", "2026-01-01 10:00:00"),
    _line(1, "RU", "telegram", "2026-01-02 10:00:00"),
    _line(2, "CN", "web_connectivity", "2026-01-03 10:00:00"),
]


def _stored(db: Path) -> None:
    with Store(db) as store:
        records = [parse_line(line, f"x:{i}") for i, line in enumerate(LINES)]
        store.add(analysed_record(r.measurement, "ooni", r.raw) for r in records if r.measurement is not None)


def test_measurements_come_back_byte_for_byte_in_time_order(db_file: Path) -> None:
    _stored(db_file)
    out = io.BytesIO()
    with Store(db_file, read_only=True) as store:
        result = write_measurements(store, out)
    assert result.written == 3 and result.damaged == 0
    assert out.getvalue() == b"".join(line + b"\n" for line in LINES)


def test_measurement_filters(db_file: Path) -> None:
    _stored(db_file)
    with Store(db_file, read_only=True) as store:
        out = io.BytesIO()
        write_measurements(store, out, probe_cc="ru", test_name="web_connectivity")
        assert out.getvalue() == LINES[0] + b"\n"
        out = io.BytesIO()
        since, until = datetime(2026, 1, 2, tzinfo=UTC), datetime(2026, 1, 3, tzinfo=UTC)
        assert write_measurements(store, out, since=since, until=until).written == 1
        assert orjson.loads(out.getvalue())["test_name"] == "telegram"


def test_pretty_printed_measurement_is_written_on_one_line(db_file: Path) -> None:
    pretty = b'{\r\n  "test_name": "tor",\n  "probe_cc": "IR",\n  "test_keys": {"note": "a\\nb"}\n}'
    record = parse_line(pretty, "one.json")
    assert record.measurement is not None
    with Store(db_file) as store:
        store.add([analysed_record(record.measurement, "ooni", record.raw)])
    out = io.BytesIO()
    with Store(db_file, read_only=True) as store:
        result = write_measurements(store, out)
    assert (result.written, result.joined) == (1, 1)
    line = out.getvalue()
    assert line == b'{  "test_name": "tor",  "probe_cc": "IR",  "test_keys": {"note": "a\\nb"}}\n'
    assert orjson.loads(line) == record.measurement


def test_damaged_frame_is_counted_and_the_rest_exported(db_file: Path) -> None:
    _stored(db_file)
    with Store(db_file) as store:
        uid = store.con.execute("SELECT measurement_uid FROM measurements WHERE probe_cc = 'CN'").fetchone()
        assert uid is not None
        store.con.execute("UPDATE measurements SET raw_zstd = 'not a frame'::BLOB WHERE measurement_uid = ?", [uid[0]])
    out = io.BytesIO()
    with Store(db_file, read_only=True) as store:
        result = write_measurements(store, out)
    assert (result.written, result.damaged, result.example) == (2, 1, uid[0])
    assert out.getvalue() == LINES[0] + b"\n" + LINES[1] + b"\n"


def test_verdicts_as_parquet(db_file: Path, tmp_path: Path) -> None:
    _stored(db_file)
    target = tmp_path / "verdicts.parquet"
    with Store(db_file, read_only=True) as store:
        assert write_parquet(verdict_rows(store, times_as_text=False), target) == 3
        expected = list(verdict_rows(store, times_as_text=False))
    table = pq.read_table(target)
    assert table.column_names == list(VERDICT_EXPORT_COLUMNS)
    assert table.schema.field("measurement_start_time").type.unit == "us"
    assert table.to_pylist() == expected
    assert table.column("measurement_start_time").to_pylist()[0] == datetime(2026, 1, 1, 10)
    assert not list(tmp_path.glob(".*.tmp"))


def test_empty_parquet_export_has_the_schema(db_file: Path, tmp_path: Path) -> None:
    _stored(db_file)
    target = tmp_path / "none.parquet"
    with Store(db_file, read_only=True) as store:
        assert write_parquet(verdict_rows(store, probe_cc="IR"), target) == 0
    table = pq.read_table(target)
    assert table.num_rows == 0 and table.column_names == list(VERDICT_EXPORT_COLUMNS)


def test_measurements_without_a_time_come_last_and_days_keep_their_order(db_file: Path) -> None:
    untimed = b'{"test_name": "tor", "probe_cc": "IR"}'
    late = _line(9, "RU", "telegram", "2026-01-01 23:59:59")
    with Store(db_file) as store:
        records = [parse_line(line, f"x:{i}") for i, line in enumerate([untimed, *LINES, late])]
        store.add(analysed_record(r.measurement, "ooni", r.raw) for r in records if r.measurement is not None)
    out = io.BytesIO()
    with Store(db_file, read_only=True) as store:
        assert write_measurements(store, out).written == 5
    assert out.getvalue().splitlines() == [LINES[0], late, LINES[1], LINES[2], untimed]
