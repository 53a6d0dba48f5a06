"""Parquet parts with the store's columns, hive-partitioned test_name=/probe_cc=/date= (the
exchange format of DESIGN.md). One part per (input file, partition): a writer stays open per
partition and receives bounded row groups, so memory stays flat whatever the file size. Parts
are written under a temporary name and renamed when complete: a killed task leaves no half part,
and a re-run overwrites the same names (deterministic per input file).

Without a link (`censorwatch process --raw embed`), a part keeps each measurement's JSON as a zstd
frame, so each part is complete in itself. With a `link` (`--raw copy`, the default, or
`--raw link`), rows of a gzip input file keep no frame: they name the file and the span of their
JSON in its decompressed stream (store/schema.py LINK_COLUMN_NAMES), as the store's rows point
into its cans. The name is the input file's absolute path (`link`) or its copy's path relative to
the output directory (`copy`, kept_inputs.py).
Making the frames and writing them was a quarter of the work of a task (docs/ingest.md); a linked
part also does not duplicate an archive that is kept anyway, such as OONI's."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import TracebackType

import pyarrow as pa
import pyarrow.parquet as pq

from censorwatch.store.cans import FileIdentity
from censorwatch.store.measurement_rows import ARROW_SCHEMA, StoredMeasurement, batch_table
from censorwatch.store.raw_codec import compress
from censorwatch.store.schema import (
    LINK_COLUMN_NAMES,
    LINK_FILE_COLUMNS,
    PART_COLUMNS,
    PART_VERSION_KEY,
    PARTITION_KEYS,
    SCHEMA_VERSION,
)

ROW_GROUP = 1000
# A row group also ends at this much compressed raw JSON, so a file of large measurements stays
# bounded.
ROW_GROUP_BYTES = 8 * 1024 * 1024
NO_DATE = "none"
SCHEMA = pa.schema([ARROW_SCHEMA.field(name) for name in PART_COLUMNS])
# raw_zstd holds zstd frames already (store/raw_codec.py): compressing them again costs time
# and saves nothing. The other columns are small (a linked part of 20,000 measurements is 1.6 MB)
# and Snappy, Parquet's default codec, writes them faster than zstd where it counts: most of
# OONI's hourly files hold a handful of measurements, and each part then pays zstd's set-up per
# column. `process` of 20,000 measurements in 1,391 files took 5.41 CPU s against 6.11 with zstd
# (medians of three), in 68 files 2.38 against 2.42; the parts are 4 % and 100 % larger.
COMPRESSION = {name: "none" if name == "raw_zstd" else "snappy" for name in (*PART_COLUMNS, *LINK_COLUMN_NAMES)}
# No dictionary pages. With zstd they made the parts 11 % larger (923 against 819 kB per 20,000
# measurements); with Snappy, parts of small files are 6 % smaller without them and parts of large
# files 14 % larger. No CPU difference was measurable either way.
USE_DICTIONARY = False
# What batch_table fills (the spans come from the items), then the file's columns, the same for
# every row of a part.
SPAN_SCHEMA = pa.schema([*SCHEMA, ARROW_SCHEMA.field("raw_offset"), ARROW_SCHEMA.field("raw_length")])
_FILE_TYPES = dict(zip(LINK_FILE_COLUMNS, (pa.string(), pa.int64(), pa.string()), strict=True))
LINKED_SCHEMA = pa.schema([*SPAN_SCHEMA, *(pa.field(name, kind) for name, kind in _FILE_TYPES.items())])
# What `ingest parquet` checks before loading a part (sources/parquet.py).
_METADATA = {PART_VERSION_KEY: SCHEMA_VERSION}
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def safe_value(value: object) -> str:
    """Partition values come from untrusted measurements: no '/', '=' or '..' in paths."""
    text = _UNSAFE.sub("_", str(value or "")) or "_"
    return "_" if set(text) == {"."} else text


# A file holds a handful of distinct test names and countries: each is made safe once.
_safe_cached = lru_cache(maxsize=4096)(safe_value)


def partition_of(item: StoredMeasurement) -> tuple[str, str, str]:
    started = item.meta.measurement_start_time  # UTC: the partition is the UTC day
    day = started.date().isoformat() if started is not None else NO_DATE
    return _safe_cached(item.meta.test_name), _safe_cached(item.meta.probe_cc), day


def file_id(path: Path) -> str:
    return hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Link:
    """Where linked rows say their JSON lies: `name`, an absolute path or one relative to the
    output directory, and the identity of that file taken before it was read."""

    name: str
    identity: FileIdentity


class PartWriter:
    """Collects the analysed measurements of one input file and writes its parts under out_dir."""

    def __init__(self, out_dir: Path, source_file: Path, link: Link | None = None) -> None:
        """With `link`, rows that carry a span (StoredMeasurement.offset) point into the linked
        file instead of keeping a frame."""
        self.out_dir = out_dir
        self.stem = f"part-{file_id(source_file)}"
        self.link = link
        # Per partition: the measurements without their JSON, and its frames, made as they arrive
        # so that a buffer holds compressed bytes only.
        self._buffers: dict[tuple[str, str, str], list[StoredMeasurement]] = {}
        self._frames: dict[tuple[str, str, str], list[bytes | None]] = {}
        self._buffer_bytes: dict[tuple[str, str, str], int] = {}
        self._writers: dict[tuple[str, str, str], tuple[pq.ParquetWriter, Path, Path]] = {}
        self.rows = 0

    def add(self, item: StoredMeasurement) -> None:
        key = partition_of(item)
        buffer = self._buffers.setdefault(key, [])
        frame: bytes | None
        if self.link is not None and item.offset is not None:
            frame = None
            buffer.append(item)
        else:
            frame = compress(item.raw)
            buffer.append(StoredMeasurement(item.meta, b"", item.verdict, item.source))
        self._frames.setdefault(key, []).append(frame)
        self.rows += 1
        size = self._buffer_bytes.get(key, 0) + (len(frame) if frame is not None else 0)
        self._buffer_bytes[key] = size
        if len(buffer) >= ROW_GROUP or size >= ROW_GROUP_BYTES:
            self._flush(key)

    def _flush(self, key: tuple[str, str, str]) -> None:
        buffer = self._buffers.get(key)
        if not buffer:
            return
        if key not in self._writers:
            directory = self.out_dir.joinpath(*(f"{k}={v}" for k, v in zip(PARTITION_KEYS, key, strict=True)))
            directory.mkdir(parents=True, exist_ok=True)
            final = directory / f"{self.stem}.parquet"
            temporary = directory / f".{self.stem}.parquet.tmp"
            schema = (SCHEMA if self.link is None else LINKED_SCHEMA).with_metadata(_METADATA)
            writer = pq.ParquetWriter(temporary, schema, compression=COMPRESSION, use_dictionary=USE_DICTIONARY)
            self._writers[key] = (writer, temporary, final)
        self._writers[key][0].write_table(self._table(buffer, self._frames[key]))
        self._buffers[key] = []
        self._frames[key] = []
        self._buffer_bytes[key] = 0

    def _table(self, buffer: list[StoredMeasurement], frames: list[bytes | None]) -> pa.Table:
        if self.link is None:
            return batch_table(buffer, SCHEMA, frames)
        table = batch_table(buffer, SPAN_SCHEMA, frames)
        linked = [item.offset is not None for item in buffer]
        identity = self.link.identity
        for name, value in zip(LINK_FILE_COLUMNS, (self.link.name, identity.size, identity.tail), strict=True):
            column = pa.array([value if is_linked else None for is_linked in linked], _FILE_TYPES[name])
            table = table.append_column(LINKED_SCHEMA.field(name), column)
        return table

    def close(self) -> list[str]:
        """Flush and publish every part; returns their paths relative to out_dir."""
        for key in list(self._buffers):
            self._flush(key)
        published: list[str] = []
        for writer, temporary, final in self._writers.values():
            writer.close()
            temporary.replace(final)
            published.append(str(final.relative_to(self.out_dir)))
        self._writers.clear()
        return sorted(published)

    def abort(self) -> None:
        for writer, temporary, _ in self._writers.values():
            writer.close()
            temporary.unlink(missing_ok=True)
        self._writers.clear()

    def __enter__(self) -> PartWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is not None:
            self.abort()
