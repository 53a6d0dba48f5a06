"""/feeds/events.atom: the blocking events of the store as an Atom feed (analysis/events/atom.py),
all of them or one country's or one target's, for feed readers and newsrooms' alert tools.

A feed reader polls whatever the store's state: a store that is missing or holds no events yet
answers a valid empty feed (a subscription made today keeps working once events are detected);
only a store being written answers 503, with Retry-After, since its events cannot be read."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from censorwatch.analysis.events.atom import DEFAULT_LIMIT, atom_feed
from censorwatch.analysis.events.listing import Filters, list_events
from censorwatch.web.store_access import BUSY, StoreAccess, StoreUnavailable
from censorwatch.web.target_timeline import event_target

router = APIRouter()

ATOM_TYPE = "application/atom+xml"
FEED_PATH = "/feeds/events.atom"


def feed_link(country: str | None = None, target: str | None = None) -> str:
    """The feed's address for a page's <link rel="alternate"> (relative: same server)."""
    query = urlencode({key: value for key, value in (("country", country), ("target", target)) if value})
    return f"{FEED_PATH}?{query}" if query else FEED_PATH


def _plain(status: int, message: str, **headers: str) -> Response:
    return Response(message + "\n", status_code=status, media_type="text/plain", headers=headers)


@router.get(FEED_PATH, include_in_schema=False)
def events_feed(request: Request, country: str | None = None, target: str | None = None) -> Response:
    cc = country.strip().upper() if country and country.strip() else None
    if cc is not None and (len(cc) != 2 or not cc.isalpha()):
        return _plain(400, f"country is a two-letter country code, not {country!r}")
    name = event_target(target)
    access: StoreAccess = request.app.state.access
    try:
        with access.cursor() as cur:
            events = list_events(cur, Filters(cc, name), order="changed", limit=DEFAULT_LIMIT)
    except StoreUnavailable as error:
        if error.state == BUSY:
            return _plain(503, error.message, **{"Retry-After": "60"})
        events = []
    body = atom_feed(events, feed_url=str(request.url), site_url=str(request.base_url), now=datetime.now(UTC),
                     country=cc, target=name)
    return Response(body, media_type=ATOM_TYPE)
