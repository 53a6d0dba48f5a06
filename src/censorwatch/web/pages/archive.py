"""Documents: full-text search of the archive with a short guide to the query language, facets
(collection, language, year) over every match, and hits with their highlighted passage."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from censorwatch.web import archive_data
from censorwatch.web.archive_access import archive_of
from censorwatch.web.archive_data import PAGE, SearchParams
from censorwatch.web.archive_text import marked
from censorwatch.web.render import page

router = APIRouter()

FACET_NAMES = {"collection": "Collection", "language": "Language", "year": "Year"}


def decorate(data: dict[str, Any]) -> dict[str, Any]:
    hits = [{**hit, "pieces": marked(hit["snippet"] or "", hit.get("highlights", []))} for hit in data["hits"]]
    filters = data["filters"]
    facets = []
    for facet, rows in data["facets"].items():
        links = []
        for row in rows:
            value = str(row["value"])
            if facet == "year":
                change = {"since": f"{value}-01-01", "until": f"{value}-12-31"}
                chosen = filters.get("since") == change["since"] and filters.get("until") == change["until"]
            else:
                change = {"lang" if facet == "language" else facet: value}
                chosen = all(filters.get(key) == wanted for key, wanted in change.items())
            links.append({"value": value, "count": row["count"], "change": change, "chosen": chosen})
        facets.append({"facet": facet, "name": FACET_NAMES.get(facet, facet), "links": links})
    return {"title": "Search documents", "shown_hits": hits, "facet_lists": facets}


def _archive(request: Request, as_json: bool, params: SearchParams) -> Response:
    access = archive_of(request)
    return page(request, "archive.html", lambda cur: archive_data.search(access, cur, params), as_json, decorate)


@router.get("/archive", include_in_schema=False)
def archive_page(request: Request, q: str = "", lang: str | None = None, collection: str | None = None,
                 since: str | None = None, until: str | None = None, entity: str | None = None,
                 offset: int = 0) -> Response:
    return _archive(request, False, SearchParams(q, lang, collection, since, until, entity, PAGE, max(offset, 0)))


@router.get("/archive.json", include_in_schema=False)
def archive_json(request: Request, q: str = "", lang: str | None = None, collection: str | None = None,
                 since: str | None = None, until: str | None = None, entity: str | None = None,
                 offset: int = 0) -> Response:
    return _archive(request, True, SearchParams(q, lang, collection, since, until, entity, PAGE, max(offset, 0)))
