"""Jinja2 rendering (autoescape on for every template) and JSON twins of pages."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

import duckdb
import jinja2
import orjson
from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from censorwatch.web import charts, timeline, words, worldmap
from censorwatch.web.queries import BadQuery
from censorwatch.web.store_access import BUSY, StoreAccess, StoreUnavailable

ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("censorwatch.web", "templates"),
    autoescape=True,  # every template, whatever its extension: measurement content is hostile
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.globals.update(
    verdict_label=words.verdict_label,
    verdict_help=words.verdict_help,
    blocking_label=words.blocking_label,
    blocking_help=words.blocking_help,
    country_name=worldmap.country_name,
    stack=charts.STACK,
    cell_width=charts.cell_width,
    timeline_chart=timeline.chart,
)


def query_string(params: Mapping[str, Any], **changes: Any) -> str:
    merged = {key: value for key, value in params.items() if value not in (None, "")}
    for key, value in changes.items():
        if value in (None, ""):
            merged.pop(key, None)
        else:
            merged[key] = value
    return urlencode(merged)


ENV.filters["qs"] = query_string
ENV.filters["thousands"] = lambda n: f"{int(n):,}" if isinstance(n, int) else n


class NotFound(Exception):
    """The page's object does not exist; the message says what was looked for."""


def _default(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, tuple | set):
        return list(value)
    raise TypeError(type(value).__name__)


def json_response(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data, default=_default, option=orjson.OPT_NON_STR_KEYS), status_code=status,
                    media_type="application/json")


def html(template: str, context: Mapping[str, Any], status: int = 200) -> HTMLResponse:
    return HTMLResponse(ENV.get_template(template).render(**context), status_code=status)


Builder = Callable[[duckdb.DuckDBPyConnection], dict[str, Any]]
Decorator = Callable[[dict[str, Any]], dict[str, Any]]


def page(
    request: Request,
    template: str,
    build: Builder,
    as_json: bool,
    decorate: Decorator | None = None,
) -> Response:
    """Run the page's query with a cursor of its own and answer as HTML or as its JSON twin.
    Store problems, bad filters and unknown objects become clear pages (or JSON errors)."""
    access: StoreAccess = request.app.state.access
    try:
        with access.cursor() as cur:
            data = build(cur)
    except StoreUnavailable as error:
        status = 503 if error.state == BUSY else 404
        if as_json:
            return json_response({"error": error.message, "state": error.state}, status)
        return html("unavailable.html", {"state": error.state, "message": error.message, "path": str(access.path),
                                          "title": "Store unavailable"}, status)
    except BadQuery as error:
        if as_json:
            return json_response({"error": str(error)}, 400)
        return html("error.html", {"title": "Bad request", "message": str(error)}, 400)
    except NotFound as error:
        if as_json:
            return json_response({"error": str(error)}, 404)
        return html("error.html", {"title": "Not found", "message": str(error)}, 404)
    if as_json:
        return json_response(data)
    context = dict(data)
    if decorate is not None:
        context.update(decorate(data))
    context.setdefault("json_url", _json_twin(request))
    return html(template, context)


def _json_twin(request: Request) -> str:
    path = request.url.path
    path = "/index.json" if path == "/" else f"{path}.json"
    return f"{path}?{request.url.query}" if request.url.query else path
