"""OONI's public API (api.ooni.io): page through /api/v1/measurements, then fetch each raw
measurement from /api/v1/raw_measurement; /api/v1/aggregation first says how many the query covers.
Polite by construction: a rate limit, retries with
exponential backoff on 429/5xx/timeouts (Retry-After honoured), and bounded pages."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import httpx

from censorwatch.sources.ooni_aggregation import Aggregation, MalformedAggregation, parse_aggregation_text
from censorwatch.sources.ooni_files import RawRecord, parse_line

DEFAULT_API = "https://api.ooni.io"
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


class ApiError(RuntimeError):
    """The API could not be used at all (unreachable after retries, or answers that are not its own)."""


@dataclass(frozen=True)
class ApiQuery:
    probe_cc: str
    since: str
    until: str
    test_name: str | None = None
    page_size: int = 100


class OoniApi:
    def __init__(
        self,
        base_url: str = DEFAULT_API,
        requests_per_second: float = 2.0,
        retries: int = 5,
        backoff: float = 1.0,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.min_interval = 1.0 / requests_per_second if requests_per_second > 0 else 0.0
        self.retries = retries
        self.backoff = backoff
        self.sleep = sleep
        self.requests_made = 0
        self._last = 0.0
        self._client = httpx.Client(timeout=timeout, trust_env=False, follow_redirects=True,
                                    headers={"User-Agent": "censorwatch"})

    def close(self) -> None:
        self._client.close()

    def _wait_turn(self) -> None:
        pause = self._last + self.min_interval - time.monotonic()
        if pause > 0:
            self.sleep(pause)
        self._last = time.monotonic()

    def get(self, path: str, params: dict[str, Any]) -> httpx.Response:
        last_problem = "no attempt"
        for attempt in range(self.retries + 1):
            self._wait_turn()
            self.requests_made += 1
            try:
                response = self._client.get(f"{self.base_url}{path}", params=params)
            except httpx.TransportError as error:
                last_problem = f"{type(error).__name__}"
                delay = self.backoff * 2**attempt
            else:
                if response.status_code not in RETRY_STATUS:
                    return response
                last_problem = f"HTTP {response.status_code}"
                delay = _retry_after(response) or self.backoff * 2**attempt
            if attempt < self.retries:
                self.sleep(delay)
        raise ApiError(f"{self.base_url}{path} failed after {self.retries + 1} attempts ({last_problem})")

    def list_measurements(self, query: ApiQuery) -> Iterator[dict[str, Any]]:
        for page in self.list_pages(query):
            yield from page

    def list_pages(self, query: ApiQuery) -> Iterator[list[dict[str, Any]]]:
        """The measurement list, a page at a time (its entries that are JSON objects)."""
        offset = 0
        while True:
            params: dict[str, Any] = {"probe_cc": query.probe_cc, "since": query.since, "until": query.until,
                                      "limit": query.page_size, "offset": offset, "order_by": "measurement_start_time",
                                      "order": "asc"}
            if query.test_name:
                params["test_name"] = query.test_name
            response = self.get("/api/v1/measurements", params)
            if response.status_code != 200:
                raise ApiError(f"measurement list answered HTTP {response.status_code}: {response.text[:200]}")
            try:
                results = response.json()["results"]
            except (ValueError, KeyError, TypeError) as error:
                raise ApiError("the measurement list is not in OONI's format") from error
            if not isinstance(results, list):
                raise ApiError("the measurement list is not in OONI's format")
            yield [item for item in results if isinstance(item, dict)]
            if len(results) < query.page_size:
                return
            offset += len(results)

    def count_measurements(self, query: ApiQuery) -> Aggregation:
        """OONI's own per-day count for the query, through the same rate limit and retries as every call.
        Raises ApiError when it cannot be had; callers treat the count as optional."""
        response = self.get("/api/v1/aggregation", aggregation_params(query))
        if response.status_code != 200:
            raise ApiError(f"aggregation answered HTTP {response.status_code}: {response.text[:200]}")
        try:
            return parse_aggregation_text(response.content)
        except MalformedAggregation as error:
            raise ApiError(f"aggregation unusable: {error}") from error

    def raw_measurement(self, uid: str) -> RawRecord:
        location = f"{self.base_url}/api/v1/raw_measurement?measurement_uid={uid}"
        try:
            response = self.get("/api/v1/raw_measurement", {"measurement_uid": uid})
        except ApiError as error:
            return RawRecord(None, None, f"API failed ({error})", location)
        if response.status_code != 200:
            return RawRecord(None, None, f"raw measurement answered HTTP {response.status_code}", location)
        record = parse_line(response.content, location)
        if record.measurement is not None and not record.measurement.get("measurement_uid"):
            # Stored under OONI's own uid, so that a measurement fetched twice is stored once.
            return replace(record, ooni_uid=uid)
        return record


def aggregation_params(query: ApiQuery) -> dict[str, str]:
    # The same filters as the list, grouped by day (time_grain=day is allowed for every range:
    # ooni/backend routers/v1/aggregation.py _resolve_time_grain). The two endpoints bound dates
    # differently (list: since < t <= until; aggregation: since <= day < until), so their counts can
    # differ at the edges; the count is a guide for progress, never a check on what was fetched.
    params = {"probe_cc": query.probe_cc, "since": query.since, "until": query.until,
              "axis_x": "measurement_start_day", "time_grain": "day"}
    if query.test_name:
        params["test_name"] = query.test_name
    return params


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return min(float(value), 300.0)
    except ValueError:
        return None


def api_records(
    api: OoniApi, query: ApiQuery, held: Callable[[list[str]], set[str]] | None = None
) -> Iterator[RawRecord]:
    """Each listed measurement, fetched. `held` (Store.held_uids) says which uids of a page the
    store holds already: those are not fetched again but yielded as `already_stored` records, so
    that a run that was interrupted, or repeated to extend a period, fetches only what is new."""
    for page in api.list_pages(query):
        uids = [uid if isinstance(uid := item.get("measurement_uid"), str) and uid else None for item in page]
        stored = held([uid for uid in uids if uid]) if held is not None else set()
        for uid in uids:
            if uid is None:
                yield RawRecord(None, None, "list entry without measurement_uid", f"{api.base_url}/api/v1/measurements")
            elif uid in stored:
                location = f"{api.base_url}/api/v1/raw_measurement?measurement_uid={uid}"
                yield RawRecord(None, None, None, location, already_stored=True)
            else:
                yield api.raw_measurement(uid)
