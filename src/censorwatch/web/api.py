"""The versioned JSON API (/api/v1), on the same query layer as the pages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

import duckdb
import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from censorwatch.analysis.events.listing import list_events
from censorwatch.web import queries
from censorwatch.web.archive_access import archive_of
from censorwatch.web.archive_data import naming_target
from censorwatch.web.events import event_filters
from censorwatch.web.queries import BadQuery, Filters, make_filters, target_filters
from censorwatch.web.register import register
from censorwatch.web.render import json_response
from censorwatch.web.store_access import BUSY, StoreAccess, StoreUnavailable
from censorwatch.web.target_timeline import build_timeline

router = APIRouter(prefix="/api/v1", tags=["api"])

Text = Annotated[str | None, Query()]


def _run(request: Request, work: Callable[[duckdb.DuckDBPyConnection], Any]) -> Response:
    access: StoreAccess = request.app.state.access
    try:
        with access.cursor() as cur:
            result = work(cur)
    except StoreUnavailable as error:
        return json_response({"error": error.message, "state": error.state}, 503 if error.state == BUSY else 404)
    except BadQuery as error:
        return json_response({"error": str(error)}, 400)
    except duckdb.CatalogException:
        return json_response({"error": "the store has no measurements table yet", "state": "empty"}, 404)
    if isinstance(result, Response):
        return result
    return json_response(result)


def _filters(
    probe_cc: str | None, probe_asn: str | None, test_name: str | None, input: str | None, domain: str | None,
    since: str | None, until: str | None, verdict: str | None, blocking: str | None,
) -> Filters:
    return make_filters(probe_cc=probe_cc, probe_asn=probe_asn, test_name=test_name, input=input, domain=domain,
                        since=since, until=until, verdict=verdict, blocking=blocking)


@router.get("/health", summary="Liveness (no store access)")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/status", summary="Whether the store is present, busy or empty, and how many measurements it holds")
def status(request: Request) -> Response:
    access: StoreAccess = request.app.state.access
    return json_response(access.status())


@router.get("/measurements", summary="Search measurements, newest first")
def measurements(
    request: Request,
    probe_cc: Text = None,
    probe_asn: Text = None,
    test_name: Text = None,
    input: Text = None,
    domain: Text = None,
    since: Annotated[str | None, Query(description="YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS (UTC), inclusive")] = None,
    until: Annotated[str | None, Query(description="YYYY-MM-DD (that day included) or a time (exclusive)")] = None,
    verdict: Annotated[str | None, Query(description="ok, anomaly, confirmed, failure; comma-separated")] = None,
    blocking: Annotated[str | None, Query(description="dns, tcp_ip, tls, http-failure, http-diff")] = None,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
    total: Annotated[bool, Query(description="count every match even when it needs a full scan")] = False,
) -> Response:
    def work(cur: duckdb.DuckDBPyConnection) -> dict[str, Any]:
        f = _filters(probe_cc, probe_asn, test_name, input, domain, since, until, verdict, blocking)
        found = queries.search(cur, f, limit=limit, offset=offset, with_total=total)
        params = f.as_params()
        next_url = None
        if found.has_more:
            next_url = f"/api/v1/measurements?{queries_qs(params, limit=limit, offset=offset + limit)}"
        return {"results": found.rows, "limit": limit, "offset": offset, "total": found.total, "next": next_url,
                "filters": params}

    return _run(request, work)


def queries_qs(params: dict[str, str], **more: Any) -> str:
    return urlencode({**params, **{key: str(value) for key, value in more.items()}})


@router.get("/measurements/{uid}", summary="One measurement: indexed fields, verdict and the raw OONI JSON")
def measurement_detail(request: Request, uid: str) -> Response:
    def work(cur: duckdb.DuckDBPyConnection) -> Any:
        found = queries.measurement(cur, uid)
        if found is None:
            return json_response({"error": f"no measurement {uid}"}, 404)
        return found

    return _run(request, work)


@router.get("/aggregates", summary="Counts by verdict and blocking type, grouped by one or two axes")
def aggregates(
    request: Request,
    axis: Annotated[str, Query(description="day, country, network, target, test, verdict or blocking")] = "day",
    axis2: Annotated[str | None, Query(description="an optional second axis")] = None,
    probe_cc: Text = None,
    probe_asn: Text = None,
    test_name: Text = None,
    input: Text = None,
    domain: Text = None,
    since: Text = None,
    until: Text = None,
    verdict: Text = None,
    blocking: Text = None,
    order: Annotated[str, Query(description="key, total or blocked")] = "key",
    limit: Annotated[int | None, Query(ge=1, le=10000)] = None,
) -> Response:
    def work(cur: duckdb.DuckDBPyConnection) -> dict[str, Any]:
        f = _filters(probe_cc, probe_asn, test_name, input, domain, since, until, verdict, blocking)
        axes = [axis, axis2] if axis2 else [axis]
        results = orjson.Fragment(queries.aggregate_json(cur, axes, f, order, limit))
        return {"axes": axes, "filters": f.as_params(), "results": results}

    return _run(request, work)


@router.get(
    "/targets/timeline",
    summary="One target on one time axis: verdicts per day and network, events, register changes, documents",
    description="`axis` {start, end}; `rows`: per country (`probe_asn` null) and network, `days` [{day, ok, "
    "anomaly, confirmed, failure}] and `events` [{start, end (null: ongoing), blocking, confidence}]; "
    "`register` [{date, change: added|removed, listed_before, entry}] (Russia's register); `documents` "
    "[{doc_id, title, date}] and `requests` [{request_id, date, requester, recipient}] naming the target. "
    "Kept from the first version: `timeline` (per country, parallel arrays) and `latest` (20 newest).",
)
def target_timeline(
    request: Request,
    t: Annotated[str | None, Query(description="a domain (example.org) or a full URL")] = None,
    target: Annotated[str | None, Query(description="the same as t (its first name)")] = None,
    probe_cc: Text = None,
    since: Text = None,
    until: Text = None,
) -> Response:
    archive = archive_of(request)

    def work(cur: duckdb.DuckDBPyConnection) -> dict[str, Any]:
        text = t or target
        found = build_timeline(cur, text, probe_cc, since, until, naming_target(archive, cur, text or ""))
        f = target_filters(found["target"], make_filters(probe_cc=probe_cc, since=since, until=until))
        return {**found, "timeline": orjson.Fragment(queries.timeline_json(cur, f)),
                "latest": queries.search(cur, f, limit=20).rows}

    return _run(request, work)


@router.get("/events", summary="Blocking events, as `censorwatch events list --format json` gives them")
def events(
    request: Request,
    country: Annotated[str | None, Query(description="two-letter country code")] = None,
    target: Annotated[str | None, Query(description="domain (or input) of the target")] = None,
    since: Annotated[str | None, Query(description="YYYY-MM-DD: events still on at or after")] = None,
    ongoing: Annotated[bool, Query(description="only events not ended")] = False,
) -> Response:
    def work(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
        return list_events(cur, event_filters(country, target, since, ongoing))

    return _run(request, work)


def _no_register() -> Response:
    return json_response({"error": "no register data"}, 404)


@router.get("/register/snapshots", summary="Dates of the register snapshots stored")
def register_snapshots(request: Request) -> Response:
    def work(cur: duckdb.DuckDBPyConnection) -> Any:
        found = register(cur)
        return _no_register() if found is None else {"snapshots": found.snapshots()}

    return _run(request, work)


@router.get("/register/lookup", summary="Register entries for a domain, URL or IP address")
def register_lookup(request: Request, target: str, at: date | None = None) -> Response:
    def work(cur: duckdb.DuckDBPyConnection) -> Any:
        found = register(cur)
        return _no_register() if found is None else {"target": target, "entries": found.lookup(target, at)}

    return _run(request, work)


@router.get("/register/diff", summary="What was added to and removed from the register between two snapshots")
def register_diff(request: Request, from_date: Annotated[date | None, Query(alias="from")] = None,
                  to_date: Annotated[date | None, Query(alias="to")] = None) -> Response:
    def work(cur: duckdb.DuckDBPyConnection) -> Any:
        found = register(cur)
        return _no_register() if found is None else found.diff(from_date, to_date)

    return _run(request, work)
