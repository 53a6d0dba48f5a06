"""Register data in the web app: the API's snapshots, look-ups and diffs, and the target page's
register section, on a store filled by the real ingest command."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from censorwatch.cli.main import app as cli
from censorwatch.store.database import Store
from censorwatch.web import demo
from censorwatch.web.aggregates import refresh_aggregates
from censorwatch.web.app import create_app

pytestmark = pytest.mark.integration

HOSTILE_DECISION = '<script>alert("register")</script>'


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    folder = tmp_path_factory.mktemp("regweb")
    db = folder / "store.duckdb"
    with Store(db) as store:
        store.add(demo.synthetic(days=6, per_day=1))
        refresh_aggregates(store.con)
    order = f"104.244.42.1;twitter.com;;Генпрокуратура;{HOSTILE_DECISION};2022-02-24"
    later = ["9.9.9.9;new.example;;ФНС;2;2022-03-05"]
    for name, day, extra in (("a.csv", "2022-03-01", []), ("b.csv", "2022-03-08", later)):
        dump = folder / name
        lines = [f"Updated: {day} 06:00:00 +0000", order, *extra]
        dump.write_bytes(("\n".join(lines) + "\n").encode("cp1251"))
        result = CliRunner().invoke(cli, ["ingest", "registry-ru", str(dump), "--db", str(db)])
        assert result.exit_code == 0, result.stderr
    with TestClient(create_app(db)) as test_client:
        yield test_client


def test_api_snapshots_lookup_diff(client: TestClient) -> None:
    assert client.get("/api/v1/register/snapshots").json() == {"snapshots": ["2022-03-01", "2022-03-08"]}
    found = client.get("/api/v1/register/lookup", params={"target": "https://twitter.com/someone"}).json()
    (entry,) = found["entries"]
    assert entry["authority"] == "Генпрокуратура" and entry["match"] == "domain"
    old = client.get("/api/v1/register/lookup", params={"target": "new.example", "at": "2022-03-02"}).json()
    assert old["entries"] == []
    diff = client.get("/api/v1/register/diff", params={"from": "2022-03-01", "to": "2022-03-08"}).json()
    assert (diff["added"], diff["removed"], diff["changed"]) == (1, 0, 0)
    assert diff["entries"]["added"][0]["domains"] == ["new.example"]


def test_target_page_shows_the_order_escaped(client: TestClient) -> None:
    page = client.get("/target", params={"t": "twitter.com"})
    assert page.status_code == 200
    assert 'id="register"' in page.text and "Генпрокуратура" in page.text
    assert HOSTILE_DECISION not in page.text and "&lt;script&gt;" in page.text


def test_register_page_lookup_and_changes(client: TestClient) -> None:
    page = client.get("/register", params={"t": "twitter.com"})
    assert page.status_code == 200
    assert 'id="lookup"' in page.text and "Генпрокуратура" in page.text
    assert HOSTILE_DECISION not in page.text
    assert "1</strong> added" in page.text and "new.example" in page.text
    data = client.get("/register.json", params={"t": "new.example", "date": "2022-03-02"}).json()
    (entry,) = data["lookup"]["entries"]
    assert entry["snapshot"] is None and entry["first_seen"] == "2022-03-08"  # not yet in force on 2 March
    assert data["diff"]["added"] == 1


@pytest.mark.parametrize(
    ("params", "status"),
    [({"date": "yesterday"}, 400), ({"t": "not a target"}, 400), ({"from": "2000-01-01"}, 400)],
)
def test_register_page_bad_queries(client: TestClient, params: dict[str, str], status: int) -> None:
    response = client.get("/register.json", params=params)
    assert response.status_code == status and response.json()["error"]


def test_register_page_without_register_data(tmp_path: Path) -> None:
    db = tmp_path / "plain.duckdb"
    with Store(db) as store:
        store.add(demo.synthetic(days=2, per_day=1))
    with TestClient(create_app(db)) as plain:
        response = plain.get("/register")
        assert response.status_code == 404 and "ingest registry-ru" in response.text
