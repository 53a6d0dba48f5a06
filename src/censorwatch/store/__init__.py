"""Storage: one embedded DuckDB file holding raw measurements with their verdicts."""

from censorwatch.store.connection import default_db_path
from censorwatch.store.database import Store
from censorwatch.store.measurement_rows import StoredMeasurement

__all__ = ["Store", "StoredMeasurement", "default_db_path"]
