"""Legacy ooniprobe YAML reports (before 2016): a header document, then one document per entry.
Each entry is turned into a measurement in today's base format (header fields at top level, the
entry's own keys in test_keys), as OONI's pipeline normalised them."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import yaml

if TYPE_CHECKING:
    from censorwatch.sources.ooni_files import RawRecord

BASE_KEYS = ("probe_asn", "probe_cc", "report_id", "software_name", "software_version", "test_name",
             "test_version", "data_format_version")
ENTRY_BASE_KEYS = frozenset({"input", "start_time", "test_runtime", "probe_ip", "probe_city", "input_hashes",
                             "options", *BASE_KEYS, "backend_version", "test_helpers", "annotations", "id"})


def jsonable(value: Any) -> Any:
    """YAML gives bytes (!!binary), dates and sets; JSON needs OONI's base64 form and strings."""
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return {"format": "base64", "data": base64.b64encode(value).decode("ascii")}
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(jsonable(k)): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    return value


def _start_time(entry: dict[str, Any], header: dict[str, Any]) -> str | None:
    stamp = entry.get("start_time", header.get("start_time"))
    if isinstance(stamp, int | float):
        return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d %H:%M:%S")
    return None


def normalise(header: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    measurement: dict[str, Any] = {key: header.get(key) for key in BASE_KEYS}
    measurement.update({key: entry[key] for key in BASE_KEYS if entry.get(key) is not None})
    measurement["input"] = entry.get("input")
    measurement["measurement_start_time"] = _start_time(entry, header)
    measurement["probe_ip"] = "127.0.0.1"
    measurement["test_keys"] = {k: v for k, v in entry.items() if k not in ENTRY_BASE_KEYS}
    result: dict[str, Any] = jsonable(measurement)
    return result


def read_yaml_report(path: Path) -> Iterator[RawRecord]:
    from censorwatch.sources.ooni_files import RawRecord

    header: dict[str, Any] | None = None
    index = 0
    with path.open("rb") as handle:
        try:
            for index, document in enumerate(yaml.safe_load_all(handle)):
                location = f"{path}:doc{index}"
                if not isinstance(document, dict):
                    yield RawRecord(None, None, "YAML entry is not a mapping", location)
                    continue
                if header is None:
                    header = document
                    continue
                measurement = normalise(header, document)
                yield RawRecord(measurement, orjson.dumps(measurement), None, location)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f"{path}:line{mark.line + 1}" if mark is not None else f"{path}:doc{index + 1}"
            yield RawRecord(None, None, "invalid YAML", where)
    if header is None:
        yield RawRecord(None, None, "YAML report without a header", str(path))
