"""Events in the web app on a store filled by the real commands (timeline_store.py): the API
equals `censorwatch events list --format json`, the Atom feed parses and filters, the home page
lists the newest events, pages link the feed, and the register page shows compliance latency."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from fastapi.testclient import TestClient

from censorwatch.store.database import Store
from censorwatch.web import demo
from censorwatch.web.app import create_app
from tests.integration import timeline_store
from tests.integration.timeline_store import TARGET, URL, invoke

pytestmark = pytest.mark.integration

ATOM = "{http://www.w3.org/2005/Atom}"


# `events list` options -> the same filters as API parameters.
LISTINGS: list[tuple[list[str], dict[str, str]]] = [
    ([], {}), (["--country", "RU"], {"country": "RU"}), (["--country", "ir"], {"country": "ir"}),
    (["--target", TARGET], {"target": TARGET}), (["--since", "2024-03-12"], {"since": "2024-03-12"}),
    (["--ongoing"], {"ongoing": "true"}), (["--country", "RU", "--ongoing"], {"country": "RU", "ongoing": "true"}),
]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Any]]:
    """The store and what `events list --format json` printed for each of LISTINGS, run before the
    app opens the store (one process cannot open a DuckDB file with two configurations)."""
    db = timeline_store.build(tmp_path_factory.mktemp("events-web"))
    printed = [json.loads(invoke("events", "list", "--format", "json", *options, "--db", str(db)))
               for options, _ in LISTINGS]
    return db, printed


@pytest.fixture(scope="module")
def client(store: tuple[Path, list[Any]]) -> Iterator[TestClient]:
    with TestClient(create_app(store[0])) as test_client:
        yield test_client


def feed(client: TestClient, **params: str) -> ET.Element:
    response = client.get("/feeds/events.atom", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/atom+xml"
    root = ET.fromstring(response.content)
    assert root.tag == f"{ATOM}feed" and root.find(f"{ATOM}id") is not None and root.find(f"{ATOM}updated") is not None
    return root


def entries(root: ET.Element) -> list[ET.Element]:
    return root.findall(f"{ATOM}entry")


@pytest.mark.parametrize("index", range(len(LISTINGS)))
def test_api_equals_the_cli(client: TestClient, store: tuple[Path, list[Any]], index: int) -> None:
    api = client.get("/api/v1/events", params=LISTINGS[index][1])
    assert api.status_code == 200
    assert api.json() == store[1][index]
    if index == 0:
        assert len(api.json()) == 3  # two networks and the country-wide event


def test_api_errors_and_schema(client: TestClient) -> None:
    assert client.get("/api/v1/events", params={"country": "RUS"}).status_code == 400
    assert "since" in client.get("/api/v1/events", params={"since": "March"}).json()["error"]
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/events" in schema["paths"]
    names = {p["name"] for p in schema["paths"]["/api/v1/targets/timeline"]["get"]["parameters"]}
    assert {"t", "probe_cc", "since", "until"} <= names


def test_feed_has_the_events(client: TestClient) -> None:
    root = feed(client)
    found = entries(root)
    assert len(found) == 3
    titles = [entry.findtext(f"{ATOM}title") or "" for entry in found]
    assert all(title.startswith(f"{TARGET}: dns blocking in RU") for title in titles)
    assert sum("ongoing" in title for title in titles) == 2
    links = [link.get("href") or "" for entry in found for link in entry.findall(f"{ATOM}link")]
    assert any(href.endswith("/target?t=news.example&probe_cc=RU") for href in links)
    assert any("/measurement/" in href for href in links)
    self_link = [link for link in root.findall(f"{ATOM}link") if link.get("rel") == "self"]
    assert self_link[0].get("href", "").endswith("/feeds/events.atom")


def test_feed_filters(client: TestClient) -> None:
    assert len(entries(feed(client, country="RU"))) == 3
    assert len(entries(feed(client, country="ir"))) == 0  # a valid empty feed
    assert len(entries(feed(client, target=TARGET))) == 3
    assert len(entries(feed(client, target=URL))) == 3  # a URL asks for its host's events
    assert len(entries(feed(client, target="other.example"))) == 0
    filtered = feed(client, country="RU", target=TARGET)
    assert "news.example RU" in (filtered.findtext(f"{ATOM}title") or "")
    assert filtered.findtext(f"{ATOM}id") != feed(client).findtext(f"{ATOM}id")  # each feed its own id
    assert client.get("/feeds/events.atom", params={"country": "Russia"}).status_code == 400


def test_feed_without_events(tmp_path: Path) -> None:
    db = tmp_path / "plain.duckdb"
    with Store(db) as store:
        store.add(demo.synthetic(days=2, per_day=1))
    with TestClient(create_app(db)) as plain:
        assert entries(feed(plain)) == []
        assert plain.get("/api/v1/events").json() == []
        home = plain.get("/")
        assert home.status_code == 200 and 'id="events"' not in home.text
        assert plain.get("/index.json").json()["events"] == []
    with TestClient(create_app(tmp_path / "none.duckdb")) as missing:
        assert entries(feed(missing)) == []


def test_home_lists_the_newest_events(client: TestClient) -> None:
    home = client.get("/")
    assert home.status_code == 200
    text = home.text
    assert 'id="events-table"' in text and "Newest blocking events" in text
    assert '<link rel="alternate" type="application/atom+xml"' in text and 'href="/feeds/events.atom"' in text
    assert 'href="/target?t=news.example&amp;probe_cc=RU"' in text
    assert "ongoing" in text and "country-wide (2 networks)" in text
    listed: list[dict[str, Any]] = client.get("/index.json").json()["events"]
    api = client.get("/api/v1/events").json()
    assert sorted(listed, key=lambda e: (e["start"], e["probe_asn"] or "")) == sorted(
        api, key=lambda e: (e["start"], e["probe_asn"] or ""))
    assert [e["start"] for e in listed] == sorted((e["start"] for e in listed), reverse=True)


def test_register_page_shows_compliance_latency(client: TestClient) -> None:
    data = client.get("/register.json").json()
    latency = data["latency"]
    assert latency["register"]["frozen"] is True
    networks = {row["probe_asn"]: row for row in latency["networks"]}
    assert set(networks) == {"AS1", "AS2"}  # the Russian networks; Iran's is not judged
    # Listed at 2024-02-29 06:00, first blocked on AS1 at 2024-03-01 01:01, on AS2 a day later.
    assert networks["AS1"]["blocked_share"] == 1.0 and networks["AS1"]["latency_median_days"] == 0.792
    assert networks["AS1"]["blocked_within_1_day"] == 1
    assert networks["AS2"]["latency_median_days"] == 1.793 and networks["AS2"]["blocked_within_1_day"] == 0
    assert networks["AS1"]["unlisted_blocked"] == 1  # blocked on after the entry was removed
    page = client.get("/register")
    assert page.status_code == 200
    assert 'id="latency-table"' in page.text and "stopped updating in March 2024" in page.text
    assert "100%" in page.text and ">0.8<" in page.text  # blocked share; median 0.792 days shown as 0.8
