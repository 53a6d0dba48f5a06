"""DDL of the embedded store. One row per measurement: the indexed base fields, the raw
measurement exactly as received (zstd-compressed, store/raw_codec.py), and our verdict
(re-analysis rewrites only the verdict columns).

Schema versions: 1 kept the raw JSON as text in `raw`; 2 keeps it compressed in `raw_zstd`
(store/upgrade.py moves a version 1 store over when it is opened for writing)."""

MEASUREMENT_COLUMNS = (
    ("measurement_uid", "VARCHAR PRIMARY KEY"),
    ("report_id", "VARCHAR"),
    ("input", "VARCHAR"),
    ("domain", "VARCHAR"),
    ("test_name", "VARCHAR NOT NULL"),
    ("test_version", "VARCHAR"),
    ("probe_cc", "VARCHAR NOT NULL"),
    ("probe_asn", "VARCHAR NOT NULL"),
    ("probe_network_name", "VARCHAR"),
    ("measurement_start_time", "TIMESTAMP"),
    ("software_name", "VARCHAR"),
    ("software_version", "VARCHAR"),
    ("source", "VARCHAR NOT NULL"),
    ("verdict", "VARCHAR"),
    ("blocking", "VARCHAR"),
    ("fingerprint", "VARCHAR"),
    ("reason", "VARCHAR"),
    ("ooni_blocking", "VARCHAR"),
    ("analyzer_version", "VARCHAR"),
    # Frames are compressed already: DuckDB's own compression analysis at each checkpoint only
    # cost time (a quarter of the insert time in bench/bench_ingest.py) and never shrank them.
    ("raw_zstd", "BLOB NOT NULL USING COMPRESSION uncompressed"),
)

COLUMN_NAMES = tuple(name for name, _ in MEASUREMENT_COLUMNS)

SCHEMA_VERSION = "2"


def create_measurements(table: str = "measurements") -> str:
    return "CREATE TABLE IF NOT EXISTS {} (\n  {}\n)".format(
        table, ",\n  ".join(f"{name} {kind}" for name, kind in MEASUREMENT_COLUMNS)
    )


SCHEMA_STATEMENTS = (
    create_measurements(),
    "CREATE TABLE IF NOT EXISTS schema_info (key VARCHAR PRIMARY KEY, value VARCHAR)",
    f"INSERT OR IGNORE INTO schema_info VALUES ('version', '{SCHEMA_VERSION}')",
)
