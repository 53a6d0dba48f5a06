"""DDL of the embedded store. One row per measurement: the indexed base fields, the raw
measurement exactly as received, and our verdict (re-analysis rewrites only the verdict
columns)."""

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
    ("raw", "VARCHAR NOT NULL"),
)

COLUMN_NAMES = tuple(name for name, _ in MEASUREMENT_COLUMNS)

CREATE_MEASUREMENTS = "CREATE TABLE IF NOT EXISTS measurements (\n  {}\n)".format(
    ",\n  ".join(f"{name} {kind}" for name, kind in MEASUREMENT_COLUMNS)
)

SCHEMA_STATEMENTS = (
    CREATE_MEASUREMENTS,
    "CREATE TABLE IF NOT EXISTS schema_info (key VARCHAR PRIMARY KEY, value VARCHAR)",
    "INSERT OR IGNORE INTO schema_info VALUES ('version', '1')",
)
