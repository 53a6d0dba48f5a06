"""Register: the snapshots of Russia's register stored, a look-up form (a URL, domain or IP on a
date), what changed between two snapshots, grouped by authority and decision, and how fast each
network blocked what the register listed (analysis/register_latency.py)."""

from __future__ import annotations

from typing import Annotated, Any

import duckdb
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from censorwatch.analysis.register_latency import LatencyWindow, register_latency
from censorwatch.store.registry import LookupError_
from censorwatch.web.filters import parse_day
from censorwatch.web.memo import memoized
from censorwatch.web.queries import BadQuery
from censorwatch.web.register import register
from censorwatch.web.render import NotFound, page

router = APIRouter()

DIFF_ROWS = 50
GROUP_ROWS = 30


def build(cur: duckdb.DuckDBPyConnection, t: str | None, at: str | None, from_date: str | None,
          to_date: str | None, decision: str | None = None) -> dict[str, Any]:
    registry = register(cur)
    if registry is None:
        raise NotFound("No register data in this store: run `censorwatch ingest registry-ru FILE...` first.")
    when, start, end = parse_day(at, "date"), parse_day(from_date, "from"), parse_day(to_date, "to")
    snapshots = [{k: v for k, v in row.items() if k != "files"} for row in registry.snapshot_table()]
    lookup: dict[str, Any] | None = None
    if t and t.strip():
        try:
            entries = registry.lookup(t.strip(), when, history=True)
        except LookupError_ as error:
            raise BadQuery(f"cannot look up {t.strip()!r}: {error}") from error
        snapshot = registry.snapshot_at(when)
        lookup = {"target": t.strip(), "snapshot": snapshot.isoformat() if snapshot else None, "entries": entries}
    try:
        diff: dict[str, Any] | None = registry.diff(start, end, limit=DIFF_ROWS)
    except LookupError_ as error:
        if start or end:
            raise BadQuery(str(error)) from error
        diff = None  # one snapshot only: nothing to compare yet
    citing = None
    if decision and decision.strip():
        citing = {"decision": decision.strip(), "entries": registry.entries_citing(decision)}
    return {"snapshots": snapshots, "lookup": lookup, "citing": citing, "diff": diff, "latency": latency(cur),
            "filters": {"t": t or "", "date": at or "", "from": from_date or "", "to": to_date or "",
                        "decision": decision or ""}}


def latency(cur: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    """`registry latency` for Russia over everything stored (None without measurements). Once per
    open store connection: it joins every RU measurement with every entry (seconds on millions),
    and nothing can change the store while the explorer holds it open (web/memo.py)."""
    def compute() -> dict[str, Any] | None:
        try:
            return register_latency(cur, LatencyWindow("RU")).as_dict()
        except (LookupError_, duckdb.CatalogException):
            return None  # no dump snapshot (only the nxdomain list), or no measurements table yet

    return memoized("register_latency_ru", compute)


def decorate(data: dict[str, Any]) -> dict[str, Any]:
    return {"title": "Russia's register of blocked resources", "group_rows": GROUP_ROWS, "diff_rows": DIFF_ROWS}


def _register(request: Request, as_json: bool, t: str | None, at: str | None, from_date: str | None,
              to_date: str | None, decision: str | None) -> Response:
    return page(request, "register.html", lambda cur: build(cur, t, at, from_date, to_date, decision), as_json,
                decorate)


At = Annotated[str | None, Query(alias="date")]
From = Annotated[str | None, Query(alias="from")]


@router.get("/register", include_in_schema=False)
def register_page(request: Request, t: str | None = None, at: At = None, from_date: From = None,
                  to: str | None = None, decision: str | None = None) -> Response:
    return _register(request, False, t, at, from_date, to, decision)


@router.get("/register.json", include_in_schema=False)
def register_json(request: Request, t: str | None = None, at: At = None, from_date: From = None,
                  to: str | None = None, decision: str | None = None) -> Response:
    return _register(request, True, t, at, from_date, to, decision)
