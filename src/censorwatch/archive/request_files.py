"""Reading requests from files (docs/archive-requests.md): YAML, a list of records (or a mapping
with `requests:` holding it), and CSV, one record per row under a header of field names, list
fields (targets, documents) separated by whitespace. Each record comes with where it was
("line N"), for errors that name it."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from censorwatch.archive.requests import FIELDS, RequestError

FORMATS = ("yaml", "csv")
MAX_YAML_BYTES = 50 * 1024 * 1024  # YAML is read whole: for larger sets, use CSV (streamed)
Record = tuple[str, dict[str, object]]
# A record, or the problem that kept a record from being read (the file goes on).
Item = Record | RequestError


def format_of(path: Path, given: str | None = None) -> str:
    if given is not None:
        if given not in FORMATS:
            raise RequestError(str(path), [f"format must be one of {', '.join(FORMATS)}, not {given!r}"])
        return given
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return "yaml"
    if suffix == ".csv":
        return "csv"
    raise RequestError(str(path), ["cannot tell the format from the name: give --format yaml or csv"])


def read_records(path: Path, fmt: str) -> Iterator[Item]:
    """The file's records in order, or a RequestError in place of a record that could not be
    read (a row with too many cells); raises RequestError for a file that cannot be read on
    (not UTF-8, not YAML, a bad header). A record's fields are checked later, by build_request."""
    return _yaml_records(path) if fmt == "yaml" else _csv_records(path)


class _LineLoader(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML ships no types
    """Records the line each mapping starts on, so that errors can name the record."""


def _mapping_with_line(loader: _LineLoader, node: Any) -> dict[Any, Any]:
    mapping: dict[Any, Any] = loader.construct_mapping(node, deep=True)
    mapping["\0line"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_line)


def _yaml_records(path: Path) -> Iterator[Item]:
    if path.stat().st_size > MAX_YAML_BYTES:
        raise RequestError(str(path), [f"a YAML file larger than {MAX_YAML_BYTES >> 20} MB: use CSV for large sets"])
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise RequestError(str(path), [f"not UTF-8 (byte {error.start})"]) from error
    try:
        document = yaml.load(text, Loader=_LineLoader)  # a SafeLoader: plain data only
    except yaml.YAMLError as error:
        raise RequestError(str(path), [f"not valid YAML: {error}".replace("\n", " ")]) from error
    if isinstance(document, dict) and set(document) - {"\0line"} == {"requests"}:
        document = document["requests"]
    if document is None:
        return
    if not isinstance(document, list):
        raise RequestError(str(path), ["expected a list of requests (or `requests:` holding one)"])
    for number, item in enumerate(document, 1):
        if not isinstance(item, dict):
            yield RequestError(f"request {number}", ["each request must be a mapping of fields"])
            continue
        line = item.pop("\0line")
        yield f"line {line}", {str(key): _plain(value) for key, value in item.items()}


def _plain(value: object) -> object:
    """A nested mapping's line marker is not a field of anything."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items() if key != "\0line"}
    return value


def _csv_records(path: Path) -> Iterator[Item]:
    with path.open("rb") as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        reader = csv.reader(text)
        try:
            header = next(reader, None)
            if header is None:
                return
            names = [name.strip().lower() for name in header]
            unknown = [name for name in names if name not in FIELDS]
            if unknown or len(set(names)) != len(names):
                problem = (f"unknown column(s) {', '.join(unknown)}" if unknown else "a column named twice")
                raise RequestError(f"{path}: line 1", [f"{problem} (columns: {', '.join(FIELDS)})"])
            ended = reader.line_num
            for row in reader:
                where = f"line {ended + 1}"
                ended = reader.line_num
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) != len(names):
                    yield RequestError(where, [f"{len(row)} cells where the header has {len(names)}"])
                    continue
                yield where, {name: cell for name, cell in zip(names, row, strict=True) if cell.strip()}
        except UnicodeDecodeError as error:
            raise RequestError(f"{path}: line {reader.line_num + 1}", [f"not UTF-8 (byte {error.start})"]) from error
        except csv.Error as error:
            raise RequestError(f"{path}: line {reader.line_num}", [f"not valid CSV: {error}"]) from error
