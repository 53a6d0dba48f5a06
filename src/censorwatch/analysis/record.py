"""Turn one raw measurement into the row the store keeps: indexed fields + our verdict + raw."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from censorwatch.analysis.dispatch import analyse
from censorwatch.model.measurement import meta_of
from censorwatch.store.measurement_rows import StoredMeasurement


def analysed_record(
    measurement: Mapping[str, Any],
    source: str,
    raw: bytes | memoryview | None = None,
    can_id: str | None = None,
    offset: int | None = None,
) -> StoredMeasurement:
    """`raw` is the measurement's UTF-8 JSON exactly as received when the caller has it;
    otherwise it is serialised here. `can_id` and `offset` say where `raw` lies in a gzip file
    the store keeps whole (store/cans.py). Raises model.measurement.MalformedMeasurement for
    non-measurements."""
    text = raw if raw is not None else orjson.dumps(measurement)
    meta = meta_of(measurement, text)
    if can_id is not None and raw is not None:
        return StoredMeasurement(meta, b"", analyse(measurement), source, can_id, offset, len(raw))
    return StoredMeasurement(meta, text, analyse(measurement), source)
