"""OONI file readers and ingest on synthetic hostile input (the core suite needs no shared data)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from censorwatch.sources.ingest import ingest_records
from censorwatch.sources.ooni_files import expand_paths, read_records
from censorwatch.store import Store
from tests.unit.wc_builder import measurement


def _write_jsonl_gz(path: Path, lines: list[bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb") as handle:
        handle.write(b"\n".join(lines) + b"\n")


def test_raw_layout_tree_with_hostile_lines(tmp_path: Path) -> None:
    good = [json.dumps(measurement(url=f"http://site{i}.example/")).encode() for i in range(5)]
    null_keys = json.dumps({**measurement(), "test_keys": None}).encode()
    hostile = [b"{not json", b"[1, 2]", b"\xff\xfe", json.dumps({"input": "no test name"}).encode(), b""]
    tree = tmp_path / "raw" / "20261101" / "10" / "RU" / "webconnectivity"
    _write_jsonl_gz(tree / "a.jsonl.gz", good[:3] + hostile + [null_keys])
    _write_jsonl_gz(tree / "b.jsonl.gz", good[3:] + good[:1])  # one repeated measurement
    truncated = tree / "c.jsonl.gz"
    full = gzip.compress(b"\n".join(good) + b"\n")
    truncated.write_bytes(full[: len(full) // 2])
    files = list(expand_paths([tmp_path / "raw"]))
    assert [f.name for f in files] == ["a.jsonl.gz", "b.jsonl.gz", "c.jsonl.gz"]
    with Store(tmp_path / "s.duckdb") as store:
        stats = ingest_records(store, (r for f in files for r in read_records(f)))
        assert stats.skipped["invalid JSON"] == 1
        assert stats.skipped["not a JSON object"] == 1
        assert stats.skipped["not UTF-8"] == 1
        assert stats.skipped["measurement has no test_name"] == 1
        assert any(reason.startswith("unreadable file") for reason in stats.skipped)
        assert stats.stored == 6  # five distinct + the null test_keys one (stored with a failure verdict)
        assert stats.duplicates >= 1
        assert store.count() == 6
        again = ingest_records(store, (r for f in files for r in read_records(f)))
        assert again.stored == 0
        rows = store.con.execute("SELECT verdict FROM measurements WHERE reason = 'measurement has no test_keys'")
        assert rows.fetchall() == [("failure",)]
    assert "skipped" in "\n".join(stats.summary_lines())


def test_single_json_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    path.write_text(json.dumps(measurement()), encoding="utf-8")
    records = list(read_records(path))
    assert records[0].measurement is not None and records[0].error is None
    gone = list(read_records(tmp_path / "gone.jsonl"))
    assert gone[0].error is not None and gone[0].error.startswith("cannot read file")


def test_legacy_yaml_report(tmp_path: Path) -> None:
    path = tmp_path / "report.yaml"
    path.write_text(
        "---\nprobe_cc: IS\nprobe_asn: AS1\nreport_id: r1\nsoftware_name: ooniprobe\ntest_name: http_requests\n"
        "test_version: 0.2\nstart_time: 1446726576.0\n...\n---\ninput: http://a.example/\n"
        "body: !!binary |\n  /////w==\nrequests: []\n...\n---\n[not, a, mapping]\n",
        encoding="utf-8",
    )
    records = list(read_records(path))
    assert records[0].measurement is not None
    assert records[0].measurement["probe_cc"] == "IS"
    assert records[0].measurement["measurement_start_time"] == "2015-11-05 12:29:36"
    assert records[0].measurement["test_keys"]["body"] == {"format": "base64", "data": "/////w=="}
    assert records[1].error == "YAML entry is not a mapping"


def test_batches_end_at_a_byte_bound(tmp_path: Path) -> None:
    """Large measurements are stored in several transactions, not held 2,000 at a time."""
    from censorwatch.sources import ingest
    from censorwatch.sources.ooni_files import RawRecord

    def records() -> list[RawRecord]:
        out = []
        for number in range(40):
            m = measurement()
            m["measurement_uid"] = f"20240101000000.000000_ZZ_webconnectivity_{number:016x}"
            m["padding"] = "x" * (2 * 1024 * 1024)
            out.append(RawRecord(m, json.dumps(m).encode(), None, f"big:{number}"))
        return out

    batches: list[int] = []
    with Store(tmp_path / "s.duckdb") as store:
        stats = ingest.ingest_records(store, records(), on_progress=batches.append)
        assert stats.stored == 40
    assert len(batches) >= 3 and max(batches) * 2 * 1024 * 1024 <= ingest.BATCH_BYTES + 2 * 1024 * 1024
