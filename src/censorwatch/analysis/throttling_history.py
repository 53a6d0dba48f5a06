"""The History a throttling run is judged against (probe/experiment.py): earlier measurements of
the same test and input from the same network, read back from the censorwatch store as they were
received. Read-only: it only SELECTs, on the Store the CLI already has open (DuckDB lets one
process hold a file once, and the run's own sink writes through that same Store).

Here, beside store_sink.py, not in probe/: the probe knows nothing of the store (DESIGN.md). The CLI
builds it and hands it to the runner, so the experiment knows only the History protocol."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from censorwatch.store.queries import StoreQueries
from censorwatch.store.raw_access import RawUnavailable

# Older runs say little about today's network: throttling is switched on and off (Russia's
# Twitter throttling lasted from March to May 2021).
DEFAULT_MAX_AGE = timedelta(days=30)

_NEWEST = (
    "SELECT * FROM measurements WHERE test_name = ? AND input = ? AND probe_asn = ? "
    "AND measurement_start_time >= ? ORDER BY measurement_start_time DESC, measurement_uid LIMIT ?"
)


class StoreHistory:
    def __init__(self, store: StoreQueries, max_age: timedelta = DEFAULT_MAX_AGE,
                 now: datetime | None = None) -> None:
        self.store = store
        self.max_age = max_age
        self._now = now

    def earlier(self, test_name: str, input: str | None, probe_asn: str, limit: int) -> list[dict[str, Any]]:
        """Newest first, at most `limit`; a row whose raw bytes cannot be read back is left out
        (history is evidence to weigh, not a reason to abort a run)."""
        if input is None or limit <= 0:
            return []
        since = (self._now or datetime.now(UTC)) - self.max_age
        params: list[Any] = [test_name, input, probe_asn, since.replace(tzinfo=None), limit]
        found: list[dict[str, Any]] = []
        with self.store.raw_fetcher() as fetcher:
            for row in self.store.iter_rows(_NEWEST, params):
                try:
                    measurement = orjson.loads(fetcher.raw(row))
                except (RawUnavailable, orjson.JSONDecodeError):
                    continue
                if isinstance(measurement, dict):
                    found.append(measurement)
        return found
