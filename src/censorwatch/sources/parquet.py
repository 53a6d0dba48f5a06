"""Load Parquet written by `censorwatch process` (hive-style test_name=/probe_cc=/date= folders,
the store's columns in every part) into the store. DuckDB reads the parts directly; INSERT OR IGNORE on the
measurement_uid primary key makes loading the same directory twice a no-op."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from censorwatch.store.database import Store
from censorwatch.store.schema import PART_COLUMNS


class ParquetSourceError(ValueError):
    """The directory holds no usable parts (missing, empty, or parts without the store's columns)."""


@dataclass(frozen=True)
class ParquetLoad:
    parts: int
    rows: int
    stored: int

    @property
    def duplicates(self) -> int:
        return self.rows - self.stored


def part_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise ParquetSourceError(f"{directory} is not a directory")
    parts = sorted(p for p in directory.rglob("*.parquet") if not p.name.startswith("."))
    if not parts:
        raise ParquetSourceError(f"no Parquet parts under {directory}")
    return parts


def load_parquet(store: Store, directory: Path) -> ParquetLoad:
    parts = part_files(directory)
    # The parts carry every store column; the test_name=/probe_cc=/date= directories are for
    # pruning by readers and hold path-safe (sanitised) values. With hive_partitioning on, DuckDB
    # would overwrite the real columns with those sanitised values, so the files' columns rule.
    source = "read_parquet(?, hive_partitioning = false, union_by_name = true)"
    files = [str(p) for p in parts]
    con = store.con
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {source}", [files]).fetchall()
    except Exception as error:  # duckdb raises several unrelated types for unreadable files
        raise ParquetSourceError(f"cannot read the parts under {directory}: {error}") from error
    present = {row[0] for row in described}
    if "raw" in present and "raw_zstd" not in present:
        raise ParquetSourceError(
            f"parts under {directory} were written by an older censorwatch (raw JSON as text); "
            "run `censorwatch process` on the measurement files again"
        )
    missing = set(PART_COLUMNS) - present
    if missing:
        raise ParquetSourceError(f"parts under {directory} lack columns: {', '.join(sorted(missing))}")
    columns = ", ".join(PART_COLUMNS)
    rows_row = con.execute(f"SELECT count(*) FROM {source}", [files]).fetchone()
    before = store.count()
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            f"INSERT OR IGNORE INTO measurements ({columns}) "
            f"SELECT {columns} FROM (SELECT DISTINCT ON (measurement_uid) {columns} FROM {source})",
            [files],
        )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return ParquetLoad(parts=len(parts), rows=int(rows_row[0]) if rows_row else 0, stored=store.count() - before)
