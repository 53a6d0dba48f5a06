"""An IP-to-network database on the user's disk: country, ASN and network name of an address,
looked up without asking anyone.

Source: IPtoASN's ip2asn-combined.tsv.gz (https://iptoasn.com/), public domain under the Open
Data Commons PDDL 1.0, so it can be redistributed and bundled without conditions; one file has
IPv4 and IPv6, the ASN, the country and the AS description, which is everything a measurement's
probe_cc / probe_asn / probe_network_name need (OONI Probe uses a MaxMind-format ASN and country
database for the same purpose; DB-IP's lite CSVs would also do, under CC BY 4.0, but need two
files and attribution).

Stored as one compact file of fixed-width records sorted by range start, every address as 16
bytes (IPv4 as IPv4-mapped IPv6, RFC 4291 §2.5.5.2, so both families share one ordering), and a
JSON table of AS names; a lookup is a binary search over the mapped file.
"""

from __future__ import annotations

import bisect
import gzip
import ipaddress
import os
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import orjson

from censorwatch.durable import written_whole

DEFAULT_URL: Final = "https://iptoasn.com/data/ip2asn-combined.tsv.gz"
LICENCE: Final = "IPtoASN ip2asn, public domain (Open Data Commons PDDL 1.0)"
DB_ENV: Final = "CENSORWATCH_GEOIP_DB"
MAGIC: Final = b"CWGEOIP1"
PREAMBLE: Final = struct.Struct("!8sIII")  # magic, records, metadata bytes, names bytes
RECORD: Final = struct.Struct("!16s16sI2s")  # start, end, ASN, country
_V4_MAPPED: Final = b"\x00" * 10 + b"\xff\xff"


class GeoipError(Exception):
    """The database cannot be built or read."""


@dataclass(frozen=True)
class Network:
    probe_cc: str
    probe_asn: str
    network_name: str | None


@dataclass(frozen=True)
class Row:
    start: bytes
    end: bytes
    asn: int
    cc: str
    name: str


def default_db_path() -> Path:
    """$CENSORWATCH_GEOIP_DB, else the user's data dir (XDG), beside the default store."""
    explicit = os.environ.get(DB_ENV)
    if explicit:
        return Path(explicit)
    data_home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return data_home / "censorwatch" / "geoip" / "ip2asn.cwgeo"


def _key(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bytes:
    return _V4_MAPPED + address.packed if address.version == 4 else address.packed


def parse_ip2asn(lines: Iterable[str]) -> Iterator[Row]:
    """Rows of IPtoASN's TSV (range_start, range_end, AS_number, country_code, AS_description).
    Unrouted ranges (AS 0) and malformed lines are skipped: they say nothing about a network."""
    for line in lines:
        parts = line.rstrip("\r\n").split("\t")
        if len(parts) < 4:
            continue
        try:
            start, end = ipaddress.ip_address(parts[0]), ipaddress.ip_address(parts[1])
            asn = int(parts[2])
        except ValueError:
            continue
        cc = parts[3].upper()
        if asn <= 0 or asn >= 1 << 32 or start.version != end.version or _key(start) > _key(end):
            continue
        if len(cc) != 2 or not cc.isalpha():
            cc = "ZZ"  # IPtoASN writes "None" when it does not know the country
        yield Row(_key(start), _key(end), asn, cc, parts[4].strip() if len(parts) > 4 else "")


def open_source(data: bytes) -> list[str]:
    """The TSV's lines, gzip-compressed or not (~30 MB uncompressed for the real file)."""
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as error:
            raise GeoipError(f"damaged gzip data: {error}") from error
    return data.decode("utf-8", errors="replace").splitlines()


def build(rows: Iterable[Row], target: Path, source: str) -> int:
    """Write the database (whole or not at all); returns the number of ranges."""
    ordered = sorted(rows, key=lambda row: row.start)
    if not ordered:
        raise GeoipError("no usable rows: is this IPtoASN's ip2asn TSV?")
    names = {str(row.asn): row.name for row in ordered if row.name}
    meta = orjson.dumps({"source": source, "licence": LICENCE, "ranges": len(ordered),
                         "built": datetime.now(UTC).isoformat(timespec="seconds")})
    names_blob = orjson.dumps(names)
    target.parent.mkdir(parents=True, exist_ok=True)
    with written_whole(target) as temporary, temporary.open("wb") as out:
        out.write(PREAMBLE.pack(MAGIC, len(ordered), len(meta), len(names_blob)))
        out.write(meta)
        out.write(names_blob)
        for row in ordered:
            out.write(RECORD.pack(row.start, row.end, row.asn, row.cc.encode("ascii")))
    return len(ordered)


class _Starts:
    """The records' start keys as a sequence, for bisect, without copying them out."""

    def __init__(self, data: bytes, offset: int, count: int) -> None:
        self._data, self._offset, self._count = data, offset, count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: int) -> bytes:
        at = self._offset + index * RECORD.size
        return self._data[at:at + 16]


class GeoipDb:
    def __init__(self, path: Path) -> None:
        try:
            self._data = path.read_bytes()
        except OSError as error:
            raise GeoipError(f"cannot read {path}: {error.strerror or error}") from error
        if len(self._data) < PREAMBLE.size:
            raise GeoipError(f"{path} is not a censorwatch geoip database")
        magic, self._count, meta_len, names_len = PREAMBLE.unpack_from(self._data)
        self._records = PREAMBLE.size + meta_len + names_len
        if magic != MAGIC or len(self._data) != self._records + self._count * RECORD.size:
            raise GeoipError(f"{path} is not a censorwatch geoip database (or is damaged)")
        try:
            self.meta = orjson.loads(self._data[PREAMBLE.size:PREAMBLE.size + meta_len])
            self._names = orjson.loads(self._data[PREAMBLE.size + meta_len:self._records])
        except orjson.JSONDecodeError as error:
            raise GeoipError(f"{path} is damaged: {error}") from error

    def __len__(self) -> int:
        count: int = self._count
        return count

    def lookup(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> Network | None:
        key = _key(address)
        index = bisect.bisect_right(_Starts(self._data, self._records, self._count), key) - 1
        if index < 0:
            return None
        _, end, asn, cc = RECORD.unpack_from(self._data, self._records + index * RECORD.size)
        if key > end:
            return None
        name = self._names.get(str(asn)) if isinstance(self._names, dict) else None
        return Network(cc.decode("ascii"), f"AS{asn}", name if isinstance(name, str) else None)
