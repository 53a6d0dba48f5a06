"""Search: every filter of the API as a GET form, newest measurements first, paged."""

from __future__ import annotations

from typing import Any

import duckdb
from fastapi import APIRouter, Request
from fastapi.responses import Response

from censorwatch.model.verdict import BLOCKING_TYPES, VERDICTS
from censorwatch.web.queries import make_filters, search
from censorwatch.web.render import page

router = APIRouter()
PAGE = 50


def build(cur: duckdb.DuckDBPyConnection, params: dict[str, str | None], offset: int) -> dict[str, Any]:
    f = make_filters(**params)
    found = search(cur, f, limit=PAGE, offset=offset)
    normalised = f.as_params()
    return {
        "filters": normalised,
        "form": {key: normalised.get(key, value or "") for key, value in params.items()},
        "rows": found.rows,
        "offset": offset,
        "limit": PAGE,
        "has_more": found.has_more,
        "total": found.total,
    }


def decorate(data: dict[str, Any]) -> dict[str, Any]:
    return {"verdicts": VERDICTS, "blocking_types": BLOCKING_TYPES, "title": "Search measurements"}


def _search(request: Request, as_json: bool, params: dict[str, str | None], offset: int) -> Response:
    return page(request, "search.html", lambda cur: build(cur, params, max(offset, 0)), as_json, decorate)


@router.get("/search", include_in_schema=False)
def search_page(request: Request, probe_cc: str | None = None, probe_asn: str | None = None,
                test_name: str | None = None, input: str | None = None, domain: str | None = None,
                since: str | None = None, until: str | None = None, verdict: str | None = None,
                blocking: str | None = None, offset: int = 0) -> Response:
    params = {"probe_cc": probe_cc, "probe_asn": probe_asn, "test_name": test_name, "input": input,
              "domain": domain, "since": since, "until": until, "verdict": verdict, "blocking": blocking}
    return _search(request, False, params, offset)


@router.get("/search.json", include_in_schema=False)
def search_json(request: Request, probe_cc: str | None = None, probe_asn: str | None = None,
                test_name: str | None = None, input: str | None = None, domain: str | None = None,
                since: str | None = None, until: str | None = None, verdict: str | None = None,
                blocking: str | None = None, offset: int = 0) -> Response:
    params = {"probe_cc": probe_cc, "probe_asn": probe_asn, "test_name": test_name, "input": input,
              "domain": domain, "since": since, "until": until, "verdict": verdict, "blocking": blocking}
    return _search(request, True, params, offset)
