"""The collector's request limits, apart from the engine: the command line's option defaults
need them without loading the collector (services/collector/__init__.py)."""

from __future__ import annotations

from typing import Final

DEFAULT_MAX_BODY: Final = 10 * 1024 * 1024
