"""Home: the world map of countries with blocking in a period, and the latest confirmed blocking."""

from __future__ import annotations

from typing import Any

import duckdb
from fastapi import APIRouter, Request
from fastapi.responses import Response

from censorwatch.web import worldmap
from censorwatch.web.events import newest_events
from censorwatch.web.pages.common import default_period
from censorwatch.web.pages.feeds import feed_link
from censorwatch.web.queries import aggregate, make_filters, search
from censorwatch.web.render import html, json_response, page
from censorwatch.web.store_access import EMPTY, MISSING, READY, StoreAccess

router = APIRouter()


def build(
    cur: duckdb.DuckDBPyConnection, since: str | None, until: str | None, test_name: str | None
) -> dict[str, Any]:
    f = default_period(cur, make_filters(since=since, until=until, test_name=test_name))
    countries = aggregate(cur, ["country"], f, order="blocked")
    totals = aggregate(cur, [], f)
    latest = search(cur, make_filters(verdict="confirmed"), limit=10)
    latest_anomalies = search(cur, make_filters(verdict="anomaly"), limit=10)
    for row in countries:
        row["name"] = worldmap.country_name(row["probe_cc"])
    return {
        "state": READY,
        "period": f.as_params(),
        "totals": totals[0] if totals else None,
        "countries": countries,
        "latest_confirmed": latest.rows,
        "latest_anomalies": latest_anomalies.rows,
        "events": newest_events(cur),
    }


def decorate(data: dict[str, Any]) -> dict[str, Any]:
    per_country = {row["probe_cc"]: {"total": row["total"], "blocked": row["blocked"],
                                     "confirmed": row["verdicts"]["confirmed"]} for row in data["countries"]}
    off_map = [row for row in data["countries"] if row["probe_cc"] not in worldmap.POSITIONS]
    return {"tiles": worldmap.tiles(per_country), "map_width": worldmap.WIDTH, "map_height": worldmap.HEIGHT,
            "tile": worldmap.TILE, "off_map": off_map, "title": "Internet censorship explorer",
            "feed_url": feed_link()}


def _empty(state: str, message: str, path: str) -> dict[str, Any]:
    return {"state": state, "message": message, "path": path}


def _home(request: Request, as_json: bool, since: str | None, until: str | None, test_name: str | None) -> Response:
    access: StoreAccess = request.app.state.access
    status = access.status()
    if status.state in (MISSING, EMPTY):
        # Not an error: a new installation. The page says how to fill the store.
        data = _empty(status.state, status.message, status.path)
        if as_json:
            return json_response(data)
        return html("home_empty.html", {**data, "title": "Internet censorship explorer", "json_url": "/index.json"})
    return page(request, "home.html", lambda cur: build(cur, since, until, test_name), as_json, decorate)


@router.get("/", include_in_schema=False)
def home(request: Request, since: str | None = None, until: str | None = None,
         test_name: str | None = None) -> Response:
    return _home(request, False, since, until, test_name)


@router.get("/index.json", include_in_schema=False)
def home_json(request: Request, since: str | None = None, until: str | None = None,
              test_name: str | None = None) -> Response:
    return _home(request, True, since, until, test_name)
