"""The collector spool's framing: torn tails and damaged frames never yield a half record."""

from __future__ import annotations

import io
import os
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from censorwatch.services.collector.framing import HEADER_SIZE, ScanReport, encode_frame, scan_frames
from censorwatch.services.collector.spool import Checkpoint, Position, SpoolLog, read_events, segment_name


def payloads(stream: bytes) -> tuple[list[bytes], ScanReport]:
    report = ScanReport()
    return [frame.payload for frame in scan_frames(io.BytesIO(stream), report)], report


def test_frames_round_trip() -> None:
    records = [b'{"a":1}', b"", b'{"b":"' + b"x" * 5000 + b'"}']
    found, report = payloads(b"".join(encode_frame(record) for record in records))
    assert found == records
    assert report.frames == 3 and report.torn_tail == 0 and report.damaged == 0


def test_every_cut_inside_the_last_frame_is_a_torn_tail() -> None:
    whole = encode_frame(b'{"first":true}')
    last = encode_frame(b'{"second":"' + b"y" * 40 + b'"}')
    for cut in range(1, len(last)):
        found, report = payloads(whole + last[:cut])
        assert found == [b'{"first":true}'], cut
        assert report.torn_tail == cut, cut
        assert report.damaged == 0


def test_checksum_mismatch_in_the_last_frame_is_ignored() -> None:
    good = encode_frame(b'{"ok":1}')
    bad = bytearray(encode_frame(b'{"ok":2}'))
    bad[-2] ^= 0x01  # a flipped payload byte: the CRC no longer matches
    found, report = payloads(good + bytes(bad))
    assert found == [b'{"ok":1}']
    assert report.torn_tail == len(bad)


def test_damage_in_the_middle_is_skipped_and_the_next_frame_found() -> None:
    first, middle, last = (encode_frame(orjson.dumps({"n": n})) for n in range(3))
    damaged = bytearray(middle)
    damaged[HEADER_SIZE + 2] ^= 0x20
    found, report = payloads(first + bytes(damaged) + last)
    assert found == [b'{"n":0}', b'{"n":2}']
    assert report.damaged == 1 and report.damaged_bytes == len(middle)


def test_garbage_between_frames_is_skipped() -> None:
    found, report = payloads(encode_frame(b"1") + b"garbage" + encode_frame(b"2"))
    assert found == [b"1", b"2"]
    assert report.damaged == 1 and report.damaged_bytes == len(b"garbage")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.dictionaries(st.text(max_size=5), st.text(max_size=30), max_size=4), max_size=6), st.data())
def test_any_truncation_yields_a_prefix(records: list[dict[str, str]], data: st.DataObject) -> None:
    encoded = [orjson.dumps(record) for record in records]
    stream = b"".join(encode_frame(item) for item in encoded)
    cut = data.draw(st.integers(min_value=0, max_value=len(stream)))
    found, _ = payloads(stream[:cut])
    assert found == encoded[: len(found)]
    whole_frames = 0
    size = 0
    for item in encoded:
        size += HEADER_SIZE + len(item)
        if size <= cut:
            whole_frames += 1
    assert len(found) == whole_frames


def test_spool_log_appends_to_a_new_segment_per_start(tmp_path: Path) -> None:
    first = SpoolLog(tmp_path)
    positions = first.append([{"kind": "open", "report_id": "r"}, {"kind": "close", "report_id": "r"}])
    first.close()
    second = SpoolLog(tmp_path)
    second.append([{"kind": "open", "report_id": "s"}])
    second.close()
    assert sorted(path.name for path in tmp_path.iterdir()) == [segment_name(1), segment_name(2)]
    events = list(read_events(tmp_path, ScanReport()))
    assert [item.event["report_id"] for item in events] == ["r", "r", "s"]
    assert events[1].position == positions[1]
    after = list(read_events(tmp_path, ScanReport(), after=positions[0]))
    assert [item.event["kind"] for item in after] == ["close", "open"]


def test_empty_segment_is_removed_on_close(tmp_path: Path) -> None:
    SpoolLog(tmp_path).close()
    assert list(tmp_path.iterdir()) == []


def test_torn_tail_of_a_segment_is_skipped_on_read(tmp_path: Path) -> None:
    log = SpoolLog(tmp_path)
    log.append([{"kind": "open", "report_id": "r"}])
    log.close()
    with open(tmp_path / segment_name(1), "ab") as handle:
        handle.write(encode_frame(b'{"kind":"close","report_id":"r"}')[:-3])
    report = ScanReport()
    assert [item.event["kind"] for item in read_events(tmp_path, report)] == ["open"]
    assert report.torn_tail > 0


def test_checkpoint_round_trip_and_bad_file(tmp_path: Path) -> None:
    assert Checkpoint.load(tmp_path) is None
    Checkpoint(Position(3, 120), "/x/db").save(tmp_path)
    assert Checkpoint.load(tmp_path) == Checkpoint(Position(3, 120), "/x/db")
    (tmp_path / "checkpoint.json").write_text("{not json")
    assert Checkpoint.load(tmp_path) is None



def test_short_frame_followed_by_frames_does_not_hide_them() -> None:
    # A failed write left the start of a big frame; the writer moved on and appended more.
    big = encode_frame(b'{"big":"' + b"z" * 10_000 + b'"}')
    after = [encode_frame(b'{"after":1}'), encode_frame(b'{"after":2}')]
    found, report = payloads(encode_frame(b"{}") + big[:500] + b"".join(after))
    assert found == [b"{}", b'{"after":1}', b'{"after":2}']
    assert report.damaged == 1 and report.torn_tail == 0


def test_failed_fsync_moves_appends_to_a_new_segment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = SpoolLog(tmp_path)
    log.append([{"kind": "open", "report_id": "a"}])
    real_fsync = os.fsync

    def failing(fd: int) -> None:
        raise OSError(5, "injected I/O error")

    monkeypatch.setattr(os, "fsync", failing)
    with pytest.raises(OSError):
        log.append([{"kind": "open", "report_id": "lost"}])
    monkeypatch.setattr(os, "fsync", real_fsync)
    positions = log.append([{"kind": "open", "report_id": "b"}])
    log.close()
    assert positions[0].segment == 2
    ids = [item.event["report_id"] for item in read_events(tmp_path, ScanReport())]
    assert ids[0] == "a" and ids[-1] == "b"
