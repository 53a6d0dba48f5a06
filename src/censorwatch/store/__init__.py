"""Storage: one embedded DuckDB file holding raw measurements with their verdicts."""

from censorwatch.store.database import Store, StoredMeasurement, default_db_path

__all__ = ["Store", "StoredMeasurement", "default_db_path"]
