"""An Atom 1.0 feed (RFC 4287) of blocking events, for the web app's /feeds/events.atom.

Pure: events as `events list --format json` gives them in, XML bytes out. One entry per event,
whose `updated` moves to the end time when the event ends (feed readers show it again). Ids are
`urn:uuid:` URNs derived from the event id (analysis/events/alerts.py), so an entry keeps its id
across feed builds and the alerts and the feed name an event alike. Text goes through
ElementTree, which escapes it; characters XML 1.0 cannot hold at all (control characters, which
a measurement's input may carry) are dropped first."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode
from xml.etree import ElementTree as ET

from censorwatch import __version__
from censorwatch.analysis.events.alerts import event_id

ATOM = "http://www.w3.org/2005/Atom"
# A fixed namespace for the uuid5 ids: the same event gets the same id from every censorwatch.
_NAMESPACE = uuid.UUID("5c1e3a0e-6f53-4d1e-9a57-2f4d1c0b7e21")
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
DEFAULT_LIMIT = 100

ET.register_namespace("", ATOM)


def _clean(text: object) -> str:
    return _NOT_XML.sub("", str(text))


def _rfc3339(value: str | datetime) -> str:
    """"YYYY-MM-DD HH:MM:SS" (UTC, as events are listed) or a datetime -> RFC 3339 in UTC."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _updated(event: Mapping[str, Any]) -> str:
    """The entry's last change: its end, or when it was detected if that came later (a run that
    catches up finds events that ended before it saw them)."""
    return max(str(value) for value in (event["end"], event["detected"], event["start"]) if value)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", {k: _clean(v) for k, v in attributes.items()})
    if text is not None:
        element.text = _clean(text)
    return element


def entry_id(event: Mapping[str, Any]) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, 'event:' + event_id(event))}"


def _title(event: Mapping[str, Any]) -> str:
    where = (f"on {event['probe_asn']}" if event["probe_asn"]
             else f"on {len(event['networks'])} networks")
    state = f"ended {event['end']}" if event["end"] else "ongoing"
    return f"{event['target']}: {event['blocking']} blocking in {event['probe_cc']} {where} ({state})"


def _summary(event: Mapping[str, Any]) -> str:
    counts = event["measurements"]
    start = event["start"] + ("" if event["start_observed"] else " (or before)")
    lines = [
        f"Started {start} UTC; " + (f"ended {event['end']} UTC." if event["end"] else "still blocking."),
        f"Confidence {event['confidence']:.2f}; {counts['during_anomalous']} of {counts['during']} measurements "
        f"anomalous ({counts['confirmed']} confirmed by a fingerprint).",
    ]
    if event["networks"]:
        lines.append("Networks: " + ", ".join(event["networks"]) + ".")
    if event["evidence"]["first"]:
        lines.append(f"First evidence: measurement {event['evidence']['first']}.")
    return "\n".join(lines)


def _entry(feed: ET.Element, event: Mapping[str, Any], site_url: str) -> None:
    entry = _sub(feed, "entry")
    _sub(entry, "id", entry_id(event))
    _sub(entry, "title", _title(event), type="text")
    _sub(entry, "updated", _rfc3339(_updated(event)))
    _sub(entry, "published", _rfc3339(str(event["detected"] or event["start"])))
    query = urlencode({"t": _clean(event["target"]), "probe_cc": _clean(event["probe_cc"])})
    _sub(entry, "link", rel="alternate", type="text/html", href=f"{site_url}/target?{query}")
    if event["evidence"]["first"]:
        _sub(entry, "link", rel="related", type="text/html",
             href=f"{site_url}/measurement/{quote(_clean(event['evidence']['first']), safe='')}")
    for term in (event["probe_cc"], event["blocking"]):
        _sub(entry, "category", term=term)
    _sub(entry, "summary", _summary(event), type="text")


def atom_feed(
    events: Iterable[Mapping[str, Any]], *, feed_url: str, site_url: str, now: datetime,
    country: str | None = None, target: str | None = None, limit: int = DEFAULT_LIMIT,
) -> bytes:
    """The feed of the `limit` most recently changed events of `country` and `target` (either
    may be None: all). `feed_url` is the feed's own address with its query (rel="self"; the
    feed's id derives from it, so each filtered feed has its own), `site_url` the web app's base;
    `now` dates an empty feed."""
    site = site_url.rstrip("/")
    chosen = [event for event in events
              if (country is None or event["probe_cc"].upper() == country.upper())
              and (target is None or event["target"].lower() == target.lower())]
    chosen.sort(key=lambda event: (_updated(event), event_id(event)), reverse=True)
    chosen = chosen[:limit]
    feed = ET.Element(f"{{{ATOM}}}feed")
    scope = " ".join(part for part in (target, country.upper() if country else None) if part)
    _sub(feed, "id", f"urn:uuid:{uuid.uuid5(_NAMESPACE, 'feed:' + feed_url)}")
    _sub(feed, "title", "Blocking events" + (f": {scope}" if scope else ""), type="text")
    _sub(feed, "updated", _rfc3339(max((_updated(event) for event in chosen), default=None) or now))
    _sub(feed, "link", rel="self", type="application/atom+xml", href=feed_url)
    _sub(feed, "link", rel="alternate", type="text/html", href=f"{site}/")
    author = _sub(feed, "author")
    _sub(author, "name", "censorwatch")
    _sub(feed, "generator", "censorwatch", version=__version__)
    for event in chosen:
        _entry(feed, event, site)
    data: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return data
