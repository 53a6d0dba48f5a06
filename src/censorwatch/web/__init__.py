"""The web explorer: JSON API and server-rendered pages over the DuckDB store."""

from censorwatch.web.aggregates import refresh_aggregates
from censorwatch.web.app import create_app

__all__ = ["create_app", "refresh_aggregates"]
