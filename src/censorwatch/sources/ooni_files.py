"""Streaming readers for OONI measurement files: `.json` (one measurement), `.jsonl`,
`.jsonl.gz`, legacy ooniprobe `.yaml` reports, and directory trees in OONI's raw layout
(raw/YYYYMMDD/HH/CC/testname/*.jsonl.gz). Bad content becomes a RawRecord with an error; the
readers never raise for what a file contains."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from censorwatch.sources.line_reader import gzip_lines, plain_lines
from censorwatch.sources.ooni_legacy_yaml import read_yaml_report

SUFFIXES = (".jsonl.gz", ".jsonl", ".json", ".yaml", ".yml")
MAX_LINE_BYTES = 64 * 1024 * 1024  # one measurement; larger lines are skipped, not buffered forever


@dataclass(frozen=True)
class RawRecord:
    measurement: dict[str, Any] | None
    # The measurement's JSON as read (UTF-8), for the store to keep as received: a view into the
    # line read when it had surrounding whitespace (see _trimmed).
    raw: bytes | memoryview | None
    error: str | None
    location: str


def is_measurement_file(path: Path) -> bool:
    return path.name.endswith(SUFFIXES)


def expand_paths(paths: Iterable[Path]) -> Iterator[Path]:
    """Files as given; directories walked (sorted, so runs are reproducible) for measurement files."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and is_measurement_file(p))
        else:
            yield path


def parse_line(line: bytes, location: str) -> RawRecord:
    """One measurement as UTF-8 JSON; anything but a JSON object is an error record. The bytes go
    to orjson as they are: it validates UTF-8 while parsing, and decoding them to text first cost
    a fifth of the time parsing takes (bench/bench_ingest.py). Whitespace around the object is
    JSON's business; the stored raw leaves it out."""
    raw = _trimmed(line)
    try:
        document = orjson.loads(line)
    except orjson.JSONDecodeError:
        return RawRecord(None, raw, "invalid JSON" if _is_utf8(line) else "not UTF-8", location)
    if not isinstance(document, dict):
        return RawRecord(None, raw, "not a JSON object", location)
    return RawRecord(document, raw, None, location)


_SPACE = frozenset(b" \t\r\n")


def _trimmed(line: bytes) -> bytes | memoryview:
    """The line without surrounding whitespace, as a view rather than a copy: copying every line
    (bytes.strip) cost a tenth of reading a gzip file of large measurements."""
    end = len(line)
    while end and line[end - 1] in _SPACE:
        end -= 1
    start = 0
    while start < end and line[start] in _SPACE:
        start += 1
    return line if start == 0 and end == len(line) else memoryview(line)[start:end]


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _lines(lines: Iterator[bytes | None], path: Path) -> Iterator[RawRecord]:
    number = 0
    try:
        for number, line in enumerate(lines, start=1):
            if line is None:
                yield RawRecord(None, None, "measurement too large", f"{path}:{number}")
            elif line and not line.isspace():
                yield parse_line(line, f"{path}:{number}")
    except (EOFError, zlib.error, OSError) as error:
        yield RawRecord(None, None, f"unreadable file ({_damage(error)})", f"{path}:{number + 1}")


def _damage(error: Exception) -> str:
    if isinstance(error, EOFError):
        return "cut short"
    if isinstance(error, zlib.error):
        return f"not gzip or corrupt: {error}"
    return type(error).__name__


def read_records(path: Path) -> Iterator[RawRecord]:
    name = path.name
    try:
        if name.endswith(".jsonl.gz"):
            with path.open("rb") as handle:
                yield from _lines(gzip_lines(handle, MAX_LINE_BYTES), path)
        elif name.endswith(".jsonl"):
            with path.open("rb") as handle:
                yield from _lines(plain_lines(handle, MAX_LINE_BYTES), path)
        elif name.endswith((".yaml", ".yml")):
            yield from read_yaml_report(path)
        else:
            yield _read_json(path)
    except OSError as error:
        yield RawRecord(None, None, f"cannot read file ({error.strerror or type(error).__name__})", str(path))


def _read_json(path: Path) -> RawRecord:
    if path.stat().st_size > MAX_LINE_BYTES:
        return RawRecord(None, None, "measurement too large", str(path))
    return parse_line(path.read_bytes(), str(path))
