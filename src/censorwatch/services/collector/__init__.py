"""The collector: probes open a report, submit measurements, close it (ooni/spec bk-003).

Each accepted measurement is fsync'd to an append-only spool before the reply, scrubbed of the
submitter's address, and stored (analysed) in the DuckDB store by a single writer thread.

The names below load their module when first used: the web server (FastAPI, uvicorn) took a
third of every `censorwatch` command's start-up, and of each Dask worker `process` starts, which
imports the command line again (docs/ingest.md, session 12).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from censorwatch.services.collector.app import create_app
    from censorwatch.services.collector.engine import (
        BACKEND_VERSION,
        Collector,
        CollectorConfig,
        measurement_uid_for,
    )
    from censorwatch.services.collector.limits import DEFAULT_MAX_BODY
    from censorwatch.services.collector.server import parse_listen, serve

_MODULE_OF = {
    "create_app": "app",
    "BACKEND_VERSION": "engine",
    "DEFAULT_MAX_BODY": "limits",
    "Collector": "engine",
    "CollectorConfig": "engine",
    "measurement_uid_for": "engine",
    "parse_listen": "server",
    "serve": "server",
}

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


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
