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

from censorwatch.sources.line_reader import LineSplitter, gzip_lines, plain_lines
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
    # Where `raw` begins in the file's (decompressed) stream, for lines of gzip files: the store
    # keeps such files whole and finds each measurement in them again (store/cans.py).
    offset: int | None = None
    # For a measurement fetched from OONI's API whose JSON carries no uid: the uid OONI gave it,
    # which it is stored under (sources/ingest.py).
    ooni_uid: str | None = None
    # An entry of OONI's measurement list that the store already holds: not fetched again, and
    # counted as already stored (sources/ooni_api.py api_records).
    already_stored: bool = False


def is_measurement_file(path: Path) -> bool:
    return path.name.endswith(SUFFIXES)


def expand_paths(paths: Iterable[Path]) -> Iterator[Path]:
    """Files as given; directories walked (sorted, so runs are reproducible) for measurement files."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and is_measurement_file(p))
        else:
            yield path


def parse_line(line: bytes, location: str, offset: int | None = None) -> RawRecord:
    """One measurement as UTF-8 JSON; anything but a JSON object is an error record. The bytes go
    to orjson as they are: it validates UTF-8 while parsing, and decoding them to text first cost
    a fifth of the time parsing takes (bench/bench_ingest.py). Whitespace around the object is
    JSON's business; the stored raw leaves it out. `offset` is where the line begins in its
    file's stream; the record's offset is where `raw` begins."""
    lead, raw = _trimmed(line)
    if offset is not None:
        offset += lead
    try:
        document = orjson.loads(line)
    except orjson.JSONDecodeError:
        return RawRecord(None, raw, "invalid JSON" if _is_utf8(line) else "not UTF-8", location, offset)
    if not isinstance(document, dict):
        return RawRecord(None, raw, "not a JSON object", location, offset)
    return RawRecord(document, raw, None, location, offset)


_SPACE = frozenset(b" \t\r\n")


def _trimmed(line: bytes) -> tuple[int, bytes | memoryview]:
    """How much whitespace leads the line, and the line without surrounding whitespace, as a view
    rather than a copy: copying every line (bytes.strip) cost a tenth of reading a gzip file of
    large measurements."""
    end = len(line)
    while end and line[end - 1] in _SPACE:
        end -= 1
    start = 0
    while start < end and line[start] in _SPACE:
        start += 1
    return start, line if start == 0 and end == len(line) else memoryview(line)[start:end]


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _lines(lines: Iterator[bytes | None], path: Path, splitter: LineSplitter | None = None) -> Iterator[RawRecord]:
    """Records of the lines; with the splitter that cuts them, each knows its offset."""
    number = 0
    try:
        for number, line in enumerate(lines, start=1):
            if line is None:
                yield RawRecord(None, None, "measurement too large", f"{path}:{number}")
            elif line and not line.isspace():
                yield parse_line(line, f"{path}:{number}", None if splitter is None else splitter.start)
    except (EOFError, zlib.error, OSError) as error:
        yield RawRecord(None, None, f"unreadable file ({_damage(error)})", f"{path}:{number + 1}")


def _damage(error: Exception) -> str:
    if isinstance(error, EOFError):
        return "cut short"
    if isinstance(error, zlib.error):
        return f"not gzip or corrupt: {error}"
    return type(error).__name__


# The reason of the record that ends a file the system could not read (a failing disk, a file
# gone): unlike bad content, it may not happen again.
READ_FAILURE = "cannot read file"


def read_records(path: Path, shown_as: Path | None = None) -> Iterator[RawRecord]:
    """Records of one file; locations name `shown_as` when given (the file as the user named it,
    when `path` is the store's copy of it). Records of gzip files carry their offsets."""
    name, shown = path.name, shown_as or path
    try:
        if name.endswith(".jsonl.gz"):
            splitter = LineSplitter(MAX_LINE_BYTES)
            with path.open("rb") as handle:
                yield from _lines(gzip_lines(handle, MAX_LINE_BYTES, splitter), shown, splitter)
        elif name.endswith(".jsonl"):
            with path.open("rb") as handle:
                yield from _lines(plain_lines(handle, MAX_LINE_BYTES), shown)
        elif name.endswith((".yaml", ".yml")):
            yield from read_yaml_report(path)
        else:
            yield _read_json(path)
    except OSError as error:
        yield RawRecord(None, None, f"{READ_FAILURE} ({error.strerror or type(error).__name__})", str(shown))


def _read_json(path: Path) -> RawRecord:
    if path.stat().st_size > MAX_LINE_BYTES:
        return RawRecord(None, None, "measurement too large", str(path))
    return parse_line(path.read_bytes(), str(path))
