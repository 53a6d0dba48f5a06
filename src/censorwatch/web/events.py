"""Blocking events in the web app: the API's filters (the CLI's `events list` options, checked
the same way) and the newest events the home page lists. The rows are those of
analysis/events/listing.py, so the API, the feed, the pages and the CLI show one shape."""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb

from censorwatch.analysis.events.listing import Filters, list_events
from censorwatch.web.queries import BadQuery

HOME_EVENTS = 10


def event_filters(country: str | None, target: str | None, since: str | None, ongoing: bool) -> Filters:
    """Raises BadQuery with the reason, as `events list` fails on the same values."""
    cc = country.strip() if country and country.strip() else None
    if cc is not None and (len(cc) != 2 or not cc.isalpha()):
        raise BadQuery(f"country is a two-letter country code, not {cc!r}")
    day = None
    if since and since.strip():
        try:
            day = date.fromisoformat(since.strip())
        except ValueError as error:
            raise BadQuery(f"since is a day YYYY-MM-DD, not {since!r}") from error
    name = target.strip() if target and target.strip() else None
    return Filters(cc, name, day, ongoing)


def newest_events(cur: duckdb.DuckDBPyConnection, limit: int = HOME_EVENTS) -> list[dict[str, Any]]:
    """The events that started last ([] when `events detect` never ran on this store)."""
    return list_events(cur, order="newest", limit=limit)
