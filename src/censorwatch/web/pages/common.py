"""Helpers the page modules share."""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb

from censorwatch.web.queries import Filters, newest_time

DEFAULT_DAYS = 30


def default_period(cur: duckdb.DuckDBPyConnection, f: Filters, days: int = DEFAULT_DAYS) -> Filters:
    """No period asked: the `days` up to the newest measurement stored (not up to today: an
    archive of last year's data should still show something)."""
    if f.since is not None or f.until is not None:
        return f
    newest = newest_time(cur)
    if newest is None:
        return f
    end = datetime.combine(newest.date() + timedelta(days=1), datetime.min.time())
    return Filters(**{**f.__dict__, "since": end - timedelta(days=days), "until": end})


def strip_json(name: str) -> tuple[str, bool]:
    return (name.removesuffix(".json"), True) if name.endswith(".json") else (name, False)
