"""The collector: probes open a report, submit measurements, close it (ooni/spec bk-003).

Each accepted measurement is fsync'd to an append-only spool before the reply, scrubbed of the
submitter's address, and stored (analysed) in the DuckDB store by a single writer thread.
"""

from censorwatch.services.collector.app import create_app
from censorwatch.services.collector.engine import (
    BACKEND_VERSION,
    DEFAULT_MAX_BODY,
    Collector,
    CollectorConfig,
    measurement_uid_for,
)
from censorwatch.services.collector.server import parse_listen, serve

__all__ = [
    "BACKEND_VERSION",
    "DEFAULT_MAX_BODY",
    "Collector",
    "CollectorConfig",
    "create_app",
    "measurement_uid_for",
    "parse_listen",
    "serve",
]
