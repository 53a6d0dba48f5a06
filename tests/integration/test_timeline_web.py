"""One timeline per target (/api/v1/targets/timeline and the target page) on a store filled by the
real commands (tests/integration/timeline_store.py): verdicts per day per country and network,
events, the register's additions and removals, documents and requests, and their filters."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from censorwatch.store.database import Store
from censorwatch.web import demo
from censorwatch.web.app import create_app
from censorwatch.web.timeline import chart
from tests.integration import timeline_store
from tests.integration.timeline_store import PRIVATE_MAIL, TARGET, URL

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return timeline_store.build(tmp_path_factory.mktemp("timeline"))


@pytest.fixture(scope="module")
def client(db: Path) -> Iterator[TestClient]:
    with TestClient(create_app(db)) as test_client:
        yield test_client


def timeline(client: TestClient, **params: str) -> dict[str, Any]:
    response = client.get("/api/v1/targets/timeline", params=params)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def rows_by_key(found: dict[str, Any]) -> dict[tuple[str, str | None], dict[str, Any]]:
    return {(row["probe_cc"], row["probe_asn"]): row for row in found["rows"]}


def hours_between(a: str, b: str) -> float:
    return abs((datetime.fromisoformat(a) - datetime.fromisoformat(b)).total_seconds()) / 3600


def test_verdicts_per_country_and_network(client: TestClient) -> None:
    found = timeline(client, t=TARGET)
    assert found["target"] == TARGET
    # The request of 2024-02 (counted from its first day) starts the axis; the last measurement ends it.
    assert found["axis"] == {"start": "2024-02-01", "end": "2024-03-20"}
    rows = rows_by_key(found)
    assert list(rows) == [("IR", None), ("IR", "AS3"), ("RU", None), ("RU", "AS1"), ("RU", "AS2")]
    as1 = {day["day"]: day for day in rows[("RU", "AS1")]["days"]}
    assert as1["2024-02-20"] == {"day": "2024-02-20", "ok": 4, "anomaly": 0, "confirmed": 0, "failure": 0}
    assert as1["2024-03-05"]["anomaly"] == 4 and as1["2024-03-05"]["ok"] == 0
    country = {day["day"]: day for day in rows[("RU", None)]["days"]}
    assert country["2024-03-05"]["anomaly"] == 8  # both networks
    assert country["2024-03-15"] == {"day": "2024-03-15", "ok": 4, "anomaly": 4, "confirmed": 0, "failure": 0}
    assert all(day["ok"] == 4 for day in rows[("IR", "AS3")]["days"]) and len(rows[("IR", "AS3")]["days"]) == 40


def test_events_on_their_rows(client: TestClient) -> None:
    rows = rows_by_key(timeline(client, t=TARGET))
    (as1,) = rows[("RU", "AS1")]["events"]
    (as2,) = rows[("RU", "AS2")]["events"]
    (national,) = rows[("RU", None)]["events"]
    assert set(as1) >= {"start", "end", "blocking", "confidence"}
    assert as1["end"] is None and as1["blocking"] == "dns" and hours_between(as1["start"], "2024-03-01 00:00:00") <= 12
    assert as2["end"] is not None and hours_between(as2["end"], "2024-03-12 00:00:00") <= 12
    assert national["end"] is None and national["start"] == as1["start"]
    assert rows[("IR", "AS3")]["events"] == [] and rows[("IR", None)]["events"] == []


def test_register_added_then_removed(client: TestClient) -> None:
    register = timeline(client, t=TARGET)["register"]
    assert [(item["date"], item["change"], item["listed_before"]) for item in register] == [
        ("2024-02-29", "added", False), ("2024-03-14", "removed", False)]
    entry = register[0]["entry"]
    assert entry["names"] == [TARGET] and entry["authority"] == "Генпрокуратура"
    assert entry["decision"] == "27-31-2024/Ид1" and entry["match"] == "domain"
    # other.example was in the first snapshot and never left: not on this target's timeline.
    assert all(item["entry"]["names"] == [TARGET] for item in register)


def test_documents_and_requests_naming_it(client: TestClient) -> None:
    found = timeline(client, t=TARGET)
    (document,) = found["documents"]  # the private collection's document is not shown
    assert document["date"] == "2024-03-02" and document["title"].startswith("Order on news.example (")
    assert PRIVATE_MAIL not in document["title"] and "█" in document["title"]
    assert document["how"] == "domain"  # how web/archive_targets matched it (the host of a URL it cites)
    (request,) = found["requests"]  # a page on the domain counts; the unrelated request does not
    assert request == {"request_id": "req-news", "date": "2024-02", "requester": "Генпрокуратура",
                       "recipient": "Roskomnadzor", "action": "block", "outcome": "unknown", "how": "domain"}


def test_private_collections_only_when_served_private(client: TestClient, db: Path) -> None:
    with TestClient(create_app(db, private=True)) as private:
        documents = timeline(private, t=TARGET)["documents"]
    assert [d["title"] for d in documents] == [f"Order on news.example ({PRIVATE_MAIL})", "Leaked list"]


def test_a_url_target(client: TestClient) -> None:
    found = timeline(client, t=URL)
    rows = rows_by_key(found)
    assert set(rows) == {("IR", None), ("IR", "AS3"), ("RU", None), ("RU", "AS1"), ("RU", "AS2")}
    assert rows[("RU", "AS1")]["events"]  # the events of its host
    assert [item["change"] for item in found["register"]] == ["added", "removed"]  # its host's entry
    assert [(d["date"], d["how"]) for d in found["documents"]] == [("2024-03-02", "domain")]  # names its host
    assert [r["request_id"] for r in found["requests"]] == ["req-news"]  # another page of its host


def test_filters(client: TestClient) -> None:
    iran = timeline(client, t=TARGET, probe_cc="IR")
    assert {row["probe_cc"] for row in iran["rows"]} == {"IR"}
    assert iran["register"] == []  # Russia's register says nothing about Iran
    late = timeline(client, t=TARGET, since="2024-03-05", until="2024-03-16")
    assert late["axis"] == {"start": "2024-03-05", "end": "2024-03-16"}
    assert [item["change"] for item in late["register"]] == ["removed"]
    assert late["documents"] == [] and late["requests"] == []
    as2 = rows_by_key(late)[("RU", "AS2")]
    assert as2["events"] and min(day["day"] for day in as2["days"]) == "2024-03-05"
    after = timeline(client, t=TARGET, since="2024-03-13")
    assert rows_by_key(after)[("RU", "AS2")]["events"] == []  # ended before the period
    assert client.get("/api/v1/targets/timeline", params={"t": TARGET, "since": "soon"}).status_code == 400
    assert client.get("/api/v1/targets/timeline").status_code == 400
    # The parameter's first name still works, and the first version's keys are kept.
    old = timeline(client, target=TARGET)
    assert old["rows"] == timeline(client, t=TARGET)["rows"] and old["timeline"] and old["latest"]


def test_target_page_draws_it_and_its_json_twin_has_it(client: TestClient) -> None:
    api = timeline(client, t=TARGET)
    twin = client.get("/target.json", params={"t": TARGET}).json()
    assert twin["timeline"] == {key: value for key, value in api.items() if key not in ("timeline", "latest")}
    page = client.get("/target", params={"t": TARGET})
    assert page.status_code == 200
    text = page.text
    assert 'id="timeline-svg"' in text and "tl-event" in text and "tl-ongoing" in text
    assert text.count('class="tl-mark tl-added"') == 1 and text.count('class="tl-mark tl-removed"') == 1
    assert 'class="tl-mark tl-document"' in text and 'class="tl-mark tl-request"' in text
    assert PRIVATE_MAIL not in text and "Leaked list" not in text
    assert '<link rel="alternate" type="application/atom+xml"' in text
    assert 'href="/feeds/events.atom?target=news.example"' in text


def test_geometry(client: TestClient) -> None:
    drawn = chart(timeline(client, t=TARGET))
    assert drawn is not None
    assert [track.label for track in drawn.tracks] == ["Register (RU)", "Documents", "Requests"]
    assert [guide.kind for guide in drawn.guides] == ["added", "removed"]
    lanes = {lane.label: lane for lane in drawn.lanes}
    as1 = lanes["AS1"]
    (bar,) = as1.bars
    assert bar.ongoing and abs(bar.x + bar.width - (drawn.width - 14)) < 0.01  # open to the axis end
    # Cells lie inside the plot, in day order, one per day with measurements (50 days: no weeks).
    assert drawn.bucket_days == 1 and len(as1.cells) == 40
    assert all(drawn.label_width <= cell.x < drawn.width for cell in as1.cells)
    assert [cell.level for cell in as1.cells][:19] == [1] * 19 and as1.cells[-1].level == 4
    added = drawn.tracks[0].marks[0]
    assert added.kind == "added" and added.x < bar.x  # listed before the first blocked measurement


def test_a_store_without_events_register_or_archive(tmp_path: Path) -> None:
    db = tmp_path / "plain.duckdb"
    with Store(db) as store:
        store.add(demo.synthetic(days=3, per_day=1))
    with TestClient(create_app(db)) as plain:
        found = timeline(plain, t="twitter.com")
        assert found["rows"] and all(row["events"] == [] for row in found["rows"])
        assert (found["register"], found["documents"], found["requests"]) == ([], [], [])
        assert plain.get("/target", params={"t": "twitter.com"}).status_code == 200
        nothing = timeline(plain, t="nothing.example")
        assert nothing["rows"] == [] and nothing["axis"] == {"start": None, "end": None}
