"""The Atom feed of events (analysis/events/atom.py): RFC 4287's required elements and
cardinalities, stable ids, filters, order, and text that XML cannot hold as given."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from lxml import etree

from censorwatch.analysis.events.atom import ATOM, atom_feed, entry_id

NS = {"a": ATOM}
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def event(target: str = "news.example", cc: str = "RU", asn: str | None = "AS1", start: str = "2024-03-01 10:00:00",
          end: str | None = None, detected: str = "2024-03-02 11:00:00", uid: str | None = "uid-1") -> dict[str, Any]:
    return {
        "target": target, "probe_cc": cc, "probe_asn": asn, "blocking": "dns", "start": start, "end": end,
        "start_observed": True, "confidence": 0.93, "networks": [] if asn else ["AS1", "AS2"],
        "measurements": {"before": 20, "before_anomalous": 1, "during": 30, "during_anomalous": 27, "confirmed": 2},
        "evidence": {"first": uid, "last": uid}, "detected": detected,
    }


def parse(data: bytes) -> Any:
    assert data.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    return etree.fromstring(data, etree.XMLParser(resolve_entities=False))


def check_atom(root: Any) -> None:
    """RFC 4287 4.1.1 and 4.1.2: what a feed and an entry must hold, and how often."""
    assert root.tag == f"{{{ATOM}}}feed"
    for name in ("id", "title", "updated"):
        assert len(root.findall(f"a:{name}", NS)) == 1, name
    assert root.find("a:author/a:name", NS) is not None
    assert root.find("a:link[@rel='self']", NS) is not None
    assert RFC3339.match(root.findtext("a:updated", namespaces=NS))
    ids = []
    for entry in root.findall("a:entry", NS):
        for name in ("id", "title", "updated"):
            assert len(entry.findall(f"a:{name}", NS)) == 1, name
        assert RFC3339.match(entry.findtext("a:updated", namespaces=NS))
        alternates = entry.findall("a:link[@rel='alternate']", NS)
        assert len(alternates) == 1 or entry.find("a:content", NS) is not None
        assert entry.findtext("a:id", namespaces=NS).startswith("urn:uuid:")
        ids.append(entry.findtext("a:id", namespaces=NS))
    assert len(ids) == len(set(ids))


def test_a_valid_feed_with_links_and_dates() -> None:
    events = [event(), event(asn=None, detected="2024-03-03 09:00:00"),
              event(target="video.example", end="2024-03-20 08:30:00", uid="uid/2")]
    root = parse(atom_feed(events, feed_url="https://cw.example/feeds/events.atom",
                           site_url="https://cw.example/", now=NOW))
    check_atom(root)
    entries = root.findall("a:entry", NS)
    # the most recently changed first: the ended event (its end), then by detection time
    assert [e.findtext("a:updated", namespaces=NS) for e in entries] == [
        "2024-03-20T08:30:00Z", "2024-03-03T09:00:00Z", "2024-03-02T11:00:00Z"]
    assert root.findtext("a:updated", namespaces=NS) == "2024-03-20T08:30:00Z"
    first = entries[0]
    assert "ended 2024-03-20 08:30:00" in first.findtext("a:title", namespaces=NS)
    href = first.find("a:link[@rel='alternate']", NS).get("href")
    assert urlsplit(href).path == "/target" and parse_qs(urlsplit(href).query) == {
        "t": ["video.example"], "probe_cc": ["RU"]}
    assert first.find("a:link[@rel='related']", NS).get("href") == "https://cw.example/measurement/uid%2F2"
    assert "on 2 networks" in entries[1].findtext("a:title", namespaces=NS)
    assert [c.get("term") for c in first.findall("a:category", NS)] == ["RU", "dns"]


def test_ids_are_stable_and_follow_the_event() -> None:
    feed_url = "https://cw.example/feeds/events.atom"
    one = parse(atom_feed([event()], feed_url=feed_url, site_url="https://cw.example", now=NOW))
    ended = parse(atom_feed([event(end="2024-03-09 00:00:00")], feed_url=feed_url, site_url="https://cw.example",
                            now=NOW))
    assert one.findtext("a:entry/a:id", namespaces=NS) == ended.findtext("a:entry/a:id", namespaces=NS)
    assert one.findtext("a:entry/a:id", namespaces=NS) == entry_id(event())
    assert entry_id(event()) != entry_id(event(asn="AS2")) != entry_id(event(start="2024-03-01 10:00:01"))
    other = parse(atom_feed([], feed_url=feed_url + "?country=RU", site_url="https://cw.example", now=NOW))
    assert one.findtext("a:id", namespaces=NS) != other.findtext("a:id", namespaces=NS)


def test_filters_and_limit() -> None:
    events = [event(), event(cc="BY"), event(target="Video.Example", detected="2024-03-05 00:00:00"),
              event(target="old.example", detected="2024-01-01 00:00:00")]
    feed = parse(atom_feed(events, feed_url="https://x/f", site_url="https://x", now=NOW, country="ru"))
    assert len(feed.findall("a:entry", NS)) == 3 and feed.findtext("a:title", namespaces=NS).endswith(": RU")
    feed = parse(atom_feed(events, feed_url="https://x/f", site_url="https://x", now=NOW, target="video.example"))
    assert len(feed.findall("a:entry", NS)) == 1
    feed = parse(atom_feed(events, feed_url="https://x/f", site_url="https://x", now=NOW, limit=2))
    assert [e.findtext("a:published", namespaces=NS) for e in feed.findall("a:entry", NS)] == [
        "2024-03-05T00:00:00Z", "2024-03-02T11:00:00Z"]


def test_an_empty_feed_is_dated_now() -> None:
    root = parse(atom_feed([], feed_url="https://x/f", site_url="https://x", now=NOW))
    check_atom(root)
    assert root.findtext("a:updated", namespaces=NS) == "2024-06-01T12:00:00Z"
    assert root.findall("a:entry", NS) == []


@pytest.mark.parametrize("target", [
    "<script>alert('x')</script>&amp;.example", "a\"b'c.example", "ctl\x00\x01\x1b\x7f.example",
    "\ufffe\ud800x.example", "]]>.example", "пример.рф/страница?q=1&r=2",
])
def test_hostile_text_is_escaped_or_dropped(target: str) -> None:
    data = atom_feed([event(target=target, uid=target)], feed_url="https://x/f?a=1&b=<2>", site_url="https://x",
                     now=NOW)
    root = parse(data)
    check_atom(root)
    title = root.findtext("a:entry/a:title", namespaces=NS)
    kept = re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\ud800]", "", target)
    assert title.startswith(f"{kept}: dns blocking")
    assert root.find("a:link[@rel='self']", NS).get("href") == "https://x/f?a=1&b=<2>"
    assert b"<script>" not in data
