"""Measurement: our verdict with its reason, and what the probe saw next to the control."""

from __future__ import annotations

from typing import Any

import duckdb
import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from censorwatch.web.apps_table import APP_TESTS
from censorwatch.web.evidence import evidence
from censorwatch.web.pages.common import strip_json
from censorwatch.web.queries import measurement
from censorwatch.web.render import NotFound, page
from censorwatch.web.test_steps import steps

router = APIRouter()


def build(cur: duckdb.DuckDBPyConnection, uid: str) -> dict[str, Any]:
    found = measurement(cur, uid)
    if found is None:
        raise NotFound(f"No measurement {uid} in this store.")
    return found


def decorate(data: dict[str, Any]) -> dict[str, Any]:
    raw = data.get("raw")
    seen: dict[str, Any] = evidence(raw) if isinstance(raw, dict) else {"kind": "generic"}
    # The app and circumvention tests have no control to compare with: their page shows each
    # step the probe took instead. Chosen by the stored row's test name, as the country table.
    app = next((t for t in APP_TESTS if t.test_name == data.get("test_name")), None)
    if app is not None:
        seen = steps(raw if isinstance(raw, dict) else {}, app.test_name)
        seen["app"] = {"label": app.label, "about": app.about}
    test_keys = raw.get("test_keys") if isinstance(raw, dict) else None
    pretty = orjson.dumps(test_keys, option=orjson.OPT_INDENT_2).decode() if test_keys is not None else None
    return {"m": data, "seen": seen, "test_keys_json": pretty, "title": f"Measurement {data['measurement_uid']}"}


@router.get("/measurement/{uid}", include_in_schema=False)
def measurement_page(request: Request, uid: str) -> Response:
    name, as_json = strip_json(uid)
    return page(request, "measurement.html", lambda cur: build(cur, name), as_json, decorate)
