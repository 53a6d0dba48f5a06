"""The geoip database: IPtoASN's TSV in, a sorted binary file out, lookups by binary search."""

from __future__ import annotations

import gzip
import ipaddress
from pathlib import Path

import pytest

from censorwatch.probe.geoip_db import GeoipDb, GeoipError, Network, build, open_source, parse_ip2asn

TSV = (
    "1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET\n"
    "1.0.1.0\t1.0.3.255\t0\tNone\tNot routed\n"
    "198.51.100.0\t198.51.100.255\t64500\tDE\tEXAMPLE-NET documentation range\n"
    "203.0.113.0\t203.0.113.127\t64501\tNone\t\n"
    "2001:db8::\t2001:db8:ffff:ffff:ffff:ffff:ffff:ffff\t64502\tRU\tEXAMPLE-V6\n"
    "garbage line\n"
    "9.9.9.9\t9.9.9.0\t1\tUS\treversed\n"
)


def write_db(tmp_path: Path, text: str = TSV, compress: bool = True) -> Path:
    data = gzip.compress(text.encode()) if compress else text.encode()
    target = tmp_path / "geo.cwgeo"
    build(parse_ip2asn(open_source(data)), target, "test")
    return target


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("198.51.100.0", Network("DE", "AS64500", "EXAMPLE-NET documentation range")),
        ("198.51.100.7", Network("DE", "AS64500", "EXAMPLE-NET documentation range")),
        ("198.51.100.255", Network("DE", "AS64500", "EXAMPLE-NET documentation range")),
        ("1.0.0.1", Network("US", "AS13335", "CLOUDFLARENET")),
        ("203.0.113.5", Network("ZZ", "AS64501", None)),
        ("2001:db8::7", Network("RU", "AS64502", "EXAMPLE-V6")),
        ("1.0.2.1", None),  # unrouted
        ("198.51.101.0", None),
        ("0.0.0.0", None),
        ("2002::1", None),
        ("::ffff:0:0", None),
    ],
)
def test_lookup(tmp_path: Path, address: str, expected: Network | None) -> None:
    db = GeoipDb(write_db(tmp_path))
    assert db.lookup(ipaddress.ip_address(address)) == expected


def test_plain_tsv_and_metadata(tmp_path: Path) -> None:
    db = GeoipDb(write_db(tmp_path, compress=False))
    assert len(db) == 4
    assert "PDDL" in db.meta["licence"] and db.meta["source"] == "test"


def test_nothing_usable_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(GeoipError):
        write_db(tmp_path, "not\ta\tdatabase\n")
    assert not (tmp_path / "geo.cwgeo").exists()


def test_damaged_files_are_errors(tmp_path: Path) -> None:
    path = write_db(tmp_path)
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(GeoipError):
        GeoipDb(path)
    with pytest.raises(GeoipError):
        GeoipDb(tmp_path / "missing")
    with pytest.raises(GeoipError):
        list(open_source(b"\x1f\x8b broken gzip"))
