"""Target: one site (domain) or URL across countries and networks over time, with the register
entries that order its blocking when register data is present."""

from __future__ import annotations

from typing import Any

import duckdb
from fastapi import APIRouter, Request
from fastapi.responses import Response

from censorwatch.store.registry import LookupError_
from censorwatch.web import charts
from censorwatch.web.archive_access import ArchiveAccess, archive_of
from censorwatch.web.archive_data import naming_target
from censorwatch.web.pages.feeds import feed_link
from censorwatch.web.queries import BadQuery, aggregate, make_filters, search, target_filters
from censorwatch.web.register import register
from censorwatch.web.render import NotFound, page
from censorwatch.web.target_timeline import build_timeline, event_target

router = APIRouter()

REGISTER_COLUMNS = ("match", "authority", "decision", "decision_date", "domains_unicode", "urls", "ips", "subnets",
                    "block_type", "first_seen", "last_seen", "snapshot")


def build(cur: duckdb.DuckDBPyConnection, target: str | None, probe_cc: str | None, since: str | None,
          until: str | None, archive: ArchiveAccess | None = None) -> dict[str, Any]:
    if not target or not target.strip():
        raise BadQuery("say which target: a domain like example.org or a full URL (?t=...)")
    f = target_filters(target, make_filters(probe_cc=probe_cc, since=since, until=until))
    countries = aggregate(cur, ["country"], f, order="blocked")
    registry = register(cur)
    try:
        entries = registry.lookup(f.domain or target) if registry is not None else None
    except LookupError_:
        entries = None
    named = naming_target(archive, cur, target) if archive is not None else None
    # A site never measured may still be ordered blocked or named in documents: only a target
    # with none of the three is unknown.
    if not countries and not entries and not (named and (named["documents"] or named["requests"])):
        raise NotFound(f"No measurements of {target} in this selection, and no register entry or document names it.")
    # The fields a reader needs to find the order; the API's lookup has them all.
    present = {key for entry in entries or [] for key in entry}
    columns = [key for key in REGISTER_COLUMNS if key in present] or sorted(present)
    return {
        "target": target.strip(),
        "filters": f.as_params(),
        "totals": aggregate(cur, [], f)[0],
        "by_day_country": aggregate(cur, ["day", "country"], f),
        "countries": countries,
        "networks": aggregate(cur, ["country", "network"], f, order="blocked", limit=30),
        "latest": search(cur, f, limit=20).rows,
        "register": entries,
        "register_columns": columns,
        "archive": named,
        "timeline": build_timeline(cur, target, probe_cc, since, until, named),
    }


def decorate(data: dict[str, Any]) -> dict[str, Any]:
    return {"heatmap": charts.heatmap(data["by_day_country"], "probe_cc"), "title": f"Blocking of {data['target']}",
            "feed_url": feed_link(target=event_target(data["target"]))}


def _target(request: Request, as_json: bool, t: str | None, probe_cc: str | None, since: str | None,
            until: str | None) -> Response:
    archive = archive_of(request)
    return page(request, "target.html", lambda cur: build(cur, t, probe_cc, since, until, archive), as_json,
                decorate)


@router.get("/target", include_in_schema=False)
def target_page(request: Request, t: str | None = None, probe_cc: str | None = None, since: str | None = None,
                until: str | None = None) -> Response:
    return _target(request, False, t, probe_cc, since, until)


@router.get("/target.json", include_in_schema=False)
def target_json(request: Request, t: str | None = None, probe_cc: str | None = None, since: str | None = None,
                until: str | None = None) -> Response:
    return _target(request, True, t, probe_cc, since, until)
