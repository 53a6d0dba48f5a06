"""DDL of the embedded store. One row per measurement: the indexed base fields, where the raw
measurement is kept exactly as received, and our verdict (re-analysis rewrites only the verdict
columns).

The raw measurement is either a zstd frame in `raw_zstd` (store/raw_codec.py), or, for lines of
gzip files, a span of that file kept whole beside the DuckDB file (`raw_can`, `raw_offset`,
`raw_length` into its decompressed stream; store/cans.py). The `cans` table lists those files.

`schema_info` records SCHEMA_VERSION, and Parquet parts carry it too (PART_VERSION_KEY): a store
or part of any other version is refused, never converted (store/schema_version.py). Nothing has
been released, so the versions before are those of development builds, whose stores and parts
are made again from the measurement files: 1 kept the raw JSON as text, 2 had no cans, 3 could
derive uids in other ways than the one model/measurement.py knows."""

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
    ("raw_zstd", "BLOB USING COMPRESSION uncompressed"),
    ("raw_can", "VARCHAR"),
    ("raw_offset", "BIGINT"),
    ("raw_length", "BIGINT"),
)

CAN_COLUMNS = ("raw_can", "raw_offset", "raw_length")
RAW_COLUMNS = ("raw_zstd", *CAN_COLUMNS)  # where a row keeps its raw measurement, one way or the other

COLUMN_NAMES = tuple(name for name, _ in MEASUREMENT_COLUMNS)
# Parquet parts (`censorwatch process`) never point into a store's cans: a row keeps its raw
# measurement as a frame (`--raw embed`) or names a file of its own (below). Parts lie in
# key=value folders, in this order.
PART_COLUMNS = tuple(name for name in COLUMN_NAMES if name not in CAN_COLUMNS)
PARTITION_KEYS = ("test_name", "probe_cc", "date")

# Parts of `censorwatch process --raw copy|link` keep no frames for the lines of gzip files: each
# row names the input file (`link`: as the worker resolved it; `copy`: its copy, relative to the
# output directory), its identity (store/cans.FileIdentity: size and last 8 bytes, hex) and the
# span of its JSON in the file's decompressed stream; `ingest parquet` keeps the file as a can.
LINK_FILE_COLUMNS = ("raw_file", "raw_file_bytes", "raw_file_tail")
LINK_COLUMN_NAMES = (*LINK_FILE_COLUMNS, "raw_offset", "raw_length")

SCHEMA_VERSION = "4"
# Parquet key-value metadata of a part: the SCHEMA_VERSION of the censorwatch that wrote it.
PART_VERSION_KEY = "censorwatch.schema_version"

CREATE_MEASUREMENTS = "CREATE TABLE IF NOT EXISTS measurements (\n  {}\n)".format(
    ",\n  ".join(f"{name} {kind}" for name, kind in MEASUREMENT_COLUMNS)
)

CREATE_CANS = (
    "CREATE TABLE IF NOT EXISTS cans (can_id VARCHAR PRIMARY KEY, source VARCHAR NOT NULL, "
    "bytes BIGINT NOT NULL, added TIMESTAMP NOT NULL)"
)

# Another uid of a stored measurement: a measurement fetched from OONI's API is stored under
# OONI's uid and known also by the uid its JSON derives (the one a raw file's line gets), or the
# other way round when the raw file came first. Either uid then finds it, and reading it again
# from the other source stores nothing.
CREATE_UID_ALIASES = (
    "CREATE TABLE IF NOT EXISTS uid_aliases (alias VARCHAR PRIMARY KEY, measurement_uid VARCHAR NOT NULL)"
)

# Input files `ingest ooni` read to the end and whose rows are committed: a later run skips a file
# whose path and state (store/cans.InputState) match, unless records of it were skipped and
# another censorwatch (code_identity) is running, which may read them (sources/ingest.py).
CREATE_READ_FILES = (
    "CREATE TABLE IF NOT EXISTS read_files (path VARCHAR NOT NULL, bytes BIGINT NOT NULL, "
    "mtime_ns BIGINT NOT NULL, tail VARCHAR NOT NULL, records BIGINT NOT NULL, skipped BIGINT NOT NULL, "
    "code VARCHAR NOT NULL, finished TIMESTAMP NOT NULL, PRIMARY KEY (path, bytes, mtime_ns, tail))"
)

SCHEMA_STATEMENTS = (
    CREATE_MEASUREMENTS,
    CREATE_CANS,
    CREATE_UID_ALIASES,
    CREATE_READ_FILES,
    "CREATE TABLE IF NOT EXISTS schema_info (key VARCHAR PRIMARY KEY, value VARCHAR)",
    f"INSERT OR IGNORE INTO schema_info VALUES ('version', '{SCHEMA_VERSION}')",
)
