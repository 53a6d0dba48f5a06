"""The row a measurement becomes in the store (and in Parquet parts): its indexed fields, where
its raw JSON lies, our verdict; and batches of such rows as Arrow tables."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pyarrow as pa

from censorwatch.model.measurement import MeasurementMeta
from censorwatch.model.verdict import Verdict
from censorwatch.store.raw_codec import compress
from censorwatch.store.schema import COLUMN_NAMES, RAW_COLUMNS


@dataclass(frozen=True)
class StoredMeasurement:
    meta: MeasurementMeta
    # The measurement's UTF-8 JSON, exactly as received; empty when it lies in a can.
    raw: bytes | memoryview
    verdict: Verdict
    source: str
    # Set when the JSON lies in a can the store keeps (store/cans.py): the can, where the JSON
    # begins in its decompressed stream and how long it is. A batch then holds no JSON, however
    # large the measurements. Otherwise the row keeps `raw` as a zstd frame. (In a Parquet part
    # linked to its input file, distributed/parts.py, `can_id` is that file.)
    can_id: str | None = None
    offset: int | None = None
    length: int | None = None
    # The uid derived from its JSON, when it is stored under another (OONI's, for a measurement
    # fetched from OONI's API): the same measurement read from a raw file has this uid, and is
    # recognised as stored (MeasurementWriter.add, table uid_aliases).
    also_known_as: str | None = None

    def row(self) -> dict[str, Any]:
        """The row as a dict (tests and benchmarks build tables from it): batch_table's columns,
        without the raw columns this row does not use."""
        row: dict[str, Any] = batch_table([self]).to_pylist()[0]
        return {name: value for name, value in row.items() if value is not None or name not in RAW_COLUMNS}

    def stored_as(self, uid: str, also_known_as: str | None = None) -> StoredMeasurement:
        """The same row under another uid (one a collector gave, or OONI's)."""
        return replace(self, meta=replace(self.meta, measurement_uid=uid), also_known_as=also_known_as)


_ARROW_TYPES = {
    "measurement_start_time": pa.timestamp("us"),
    "raw_zstd": pa.binary(),
    "raw_offset": pa.int64(),
    "raw_length": pa.int64(),
}
ARROW_SCHEMA = pa.schema([(name, _ARROW_TYPES.get(name, pa.string())) for name in COLUMN_NAMES])

_META_COLUMNS = (
    "measurement_uid", "report_id", "input", "domain", "test_name", "test_version", "probe_cc", "probe_asn",
    "probe_network_name", "software_name", "software_version",
)
VERDICT_COLUMNS = ("verdict", "blocking", "fingerprint", "reason", "ooni_blocking", "analyzer_version")


def batch_table(
    items: list[StoredMeasurement], schema: pa.Schema = ARROW_SCHEMA, frames: list[bytes | None] | None = None
) -> pa.Table:
    """The batch as an Arrow table, column by column straight from the items: a dict per row
    first (StoredMeasurement.row, then arrow_rows) cost twice as much (bench/bench_ingest.py).
    `schema` is ARROW_SCHEMA or some of its fields (Parquet parts leave the can columns out);
    `frames` are the items' zstd frames when the caller has made them already (None for an item
    whose JSON lies in a file)."""
    metas = [item.meta for item in items]
    verdicts = [item.verdict for item in items]
    columns: dict[str, list[Any]] = {
        name: [getattr(meta, name) for meta in metas] for name in _META_COLUMNS
    }
    columns["measurement_start_time"] = [
        None if meta.measurement_start_time is None else meta.measurement_start_time.replace(tzinfo=None)
        for meta in metas
    ]
    columns["source"] = [item.source for item in items]
    if frames is not None:
        columns["raw_zstd"] = frames
    elif any(item.can_id is None for item in items):
        columns["raw_zstd"] = [compress(item.raw) if item.can_id is None else None for item in items]
    if any(item.can_id is not None for item in items):
        columns["raw_can"] = [item.can_id for item in items]
        columns["raw_offset"] = [item.offset for item in items]
        columns["raw_length"] = [item.length for item in items]
    for name in VERDICT_COLUMNS:
        columns[name] = [getattr(verdict, name) for verdict in verdicts]
    count = len(items)
    return pa.Table.from_arrays(
        [
            pa.array(columns[field.name], field.type) if field.name in columns else pa.nulls(count, field.type)
            for field in schema
        ],
        schema=schema,
    )
