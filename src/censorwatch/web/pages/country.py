"""Country: blocking over time, the most blocked targets, the networks and the methods used."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import duckdb
from fastapi import APIRouter, Request
from fastapi.responses import Response

from censorwatch.web import charts, worldmap
from censorwatch.web.apps_table import apps_table
from censorwatch.web.pages.common import strip_json
from censorwatch.web.queries import aggregate, make_filters, search
from censorwatch.web.render import NotFound, page

router = APIRouter()


def build(cur: duckdb.DuckDBPyConnection, cc: str, since: str | None, until: str | None,
          test_name: str | None) -> dict[str, Any]:
    f = make_filters(probe_cc=cc, since=since, until=until, test_name=test_name)
    by_day = aggregate(cur, ["day"], f)
    if not by_day:
        raise NotFound(f"No measurements from {worldmap.country_name(f.probe_cc)} ({f.probe_cc}) in this period.")
    blocked = replace(f, verdict=("anomaly", "confirmed"))
    totals = aggregate(cur, [], f)[0]
    methods = sorted(({"blocking": kind, "total": n} for kind, n in totals["by_blocking"].items() if n),
                     key=lambda row: -int(row["total"]))
    return {
        "probe_cc": f.probe_cc,
        "name": worldmap.country_name(f.probe_cc),
        "filters": f.as_params(),
        "totals": totals,
        "by_day": by_day,
        "targets": aggregate(cur, ["target"], f, order="blocked", limit=25),
        "networks": aggregate(cur, ["network"], f, order="total", limit=25),
        "methods": methods,
        "tests": aggregate(cur, ["test"], f, order="total"),
        "latest_blocked": search(cur, blocked, limit=15).rows,
        # The period applies, the test filter does not: the table is about the app tests.
        "apps": apps_table(cur, f.probe_cc or cc, f.since, f.until),
    }


def decorate(data: dict[str, Any]) -> dict[str, Any]:
    return {"chart": charts.bar_chart(data["by_day"]), "title": f"Censorship in {data['name']}"}


@router.get("/country/{cc}", include_in_schema=False)
def country(request: Request, cc: str, since: str | None = None, until: str | None = None,
            test_name: str | None = None) -> Response:
    code, as_json = strip_json(cc)
    return page(request, "country.html", lambda cur: build(cur, code, since, until, test_name), as_json, decorate)
