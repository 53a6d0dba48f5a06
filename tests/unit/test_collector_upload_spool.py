"""The probe's upload spool: whole entries only, in order, nothing silently dropped."""

from __future__ import annotations

from pathlib import Path

import pytest

from censorwatch.probe.collector_client import report_fields
from censorwatch.probe.spool import SpoolEntry, UploadSpool, default_spool_dir


def test_put_lists_in_order_and_remove(tmp_path: Path) -> None:
    spool = UploadSpool(tmp_path)
    paths = [spool.put(SpoolEntry({"test_name": "t", "n": n}, "http://127.0.0.1:1")) for n in range(5)]
    listed = list(spool.entries())
    assert [path for path, _ in listed] == paths
    assert [entry.measurement["n"] for _, entry in listed] == list(range(5))
    spool.remove(paths[2])
    assert len(spool) == 4 and paths[2] not in spool.paths()


def test_update_rewrites_the_entry(tmp_path: Path) -> None:
    spool = UploadSpool(tmp_path)
    entry = SpoolEntry({"test_name": "t"}, "http://127.0.0.1:1")
    path = spool.put(entry)
    entry.report_id = "r1"
    spool.update(path, entry)
    [(_, again)] = list(spool.entries())
    assert again.report_id == "r1"
    assert list(spool.directory.joinpath("tmp").iterdir()) == []


def test_torn_temporaries_are_discarded_never_listed(tmp_path: Path) -> None:
    spool = UploadSpool(tmp_path)
    (tmp_path / "tmp" / "0001-abcd.json.1234").write_bytes(b'{"collector": "http://127.0.0.1:1", "measu')
    assert list(spool.entries()) == []
    assert spool.discard_torn() == 1


@pytest.mark.parametrize("content", [b"", b"{not json", b"[]", b'{"collector": 1, "measurement": {}}',
                                     b'{"collector": "x", "measurement": []}'])
def test_unreadable_entry_moves_to_rejected_with_reason(tmp_path: Path, content: bytes) -> None:
    spool = UploadSpool(tmp_path)
    good = spool.put(SpoolEntry({"test_name": "t"}, "http://127.0.0.1:1"))
    bad = spool.pending / "00000000000000000001-bad.json"
    bad.write_bytes(content)
    assert [path for path, _ in spool.entries()] == [good]
    assert (spool.rejected / bad.name).read_bytes() == content
    assert "unreadable spool entry" in (spool.rejected / bad.name).with_suffix(".reason").read_text()


def test_default_spool_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert default_spool_dir(tmp_path / "x.duckdb") == tmp_path / "upload-spool"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_spool_dir() == tmp_path / "data" / "censorwatch" / "upload-spool"


def test_report_fields_from_a_measurement() -> None:
    fields = report_fields({"test_name": "web_connectivity", "probe_cc": "it", "probe_asn": "as3269",
                            "software_name": "censorwatch", "test_version": "0.4.3", "probe_ip": "192.0.2.9"})
    assert fields == {
        "probe_cc": "IT", "probe_asn": "AS3269", "software_name": "censorwatch", "software_version": "0.1.0",
        "test_name": "web_connectivity", "test_version": "0.4.3", "data_format_version": "0.2.0", "format": "json",
    }
    assert report_fields({})["probe_cc"] == "ZZ" and report_fields({})["probe_asn"] == "AS0"
