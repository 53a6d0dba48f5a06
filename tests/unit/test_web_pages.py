"""Pages and API in-process (datasette style: the ASGI app on a real store in a tmp dir):
escaping of hostile measurements, the security headers, the store's missing / empty / busy
states, JSON twins, and no reference to any other host in any page."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from censorwatch.store.database import Store
from censorwatch.web import demo
from censorwatch.web.aggregates import refresh_aggregates
from censorwatch.web.app import create_app

PAYLOAD = '"><img src=x onerror=alert(1)><script>alert(1)</script>'


def hostile() -> dict[str, Any]:
    m = demo.web_measurement("http://evil.example/", "IR", "AS58224", PAYLOAD, demo.END, "http_blockpage")
    m["input"] = "http://evil.example/" + PAYLOAD
    response = m["test_keys"]["requests"][0]["response"]
    response["body"] = f"<html><title>{PAYLOAD}</title><body>{PAYLOAD}</body></html>"
    response["headers"][PAYLOAD] = PAYLOAD
    return m


@pytest.fixture(scope="module")
def store_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pages") / "store.duckdb"
    with Store(path) as store:
        store.add(demo.synthetic(days=6, per_day=1))
        store.add([demo.record(hostile(), "http_blockpage")])
        refresh_aggregates(store.con)
    return path


@pytest.fixture(scope="module")
def client(store_file: Path) -> Iterator[TestClient]:
    with TestClient(create_app(store_file)) as client:
        yield client


def _hostile_uid(client: TestClient) -> str:
    found = client.get("/api/v1/measurements", params={"domain": "evil.example"}).json()["results"]
    assert len(found) == 1
    return str(found[0]["measurement_uid"])


PAGES = ["/", "/country/IR", "/country/CN", "/target?t=twitter.com", "/target?t=evil.example", "/search",
         "/search?probe_cc=RU&verdict=anomaly,confirmed", "/search?domain=evil.example"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_render_with_security_headers(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200, response.text[:500]
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "<script" not in response.text.lower().replace("&lt;script", "")
    # Every resource and link stays on this server: no CDN, nothing that needs the internet.
    for attribute, value in re.findall(r'\b(href|src|action)="([^"]*)"', response.text):
        assert value.startswith(("/", "?", "#")), (attribute, value)


def test_hostile_measurement_is_escaped(client: TestClient) -> None:
    uid = _hostile_uid(client)
    html = client.get(f"/measurement/{uid}").text
    assert "<img" not in html and "<script>alert" not in html and "onerror=alert(1)>" not in html
    escaped = "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;alert(1)&lt;/script&gt;"
    assert html.count(escaped) >= 4  # input, title, body, header name and value
    listing = client.get("/search", params={"domain": "evil.example"}).text
    assert "<img" not in listing and "&#34;&gt;&lt;img src=x onerror=ale" in listing


def test_json_twins_and_api_share_data(client: TestClient) -> None:
    page = client.get("/country/IR.json").json()
    api = client.get("/api/v1/aggregates", params={"axis": "day", "probe_cc": "IR"}).json()
    assert page["by_day"] == api["results"]
    home = client.get("/index.json").json()
    assert {row["probe_cc"] for row in home["countries"]} >= {"IR", "RU", "CN"}
    search = client.get("/search.json", params={"probe_cc": "CN"}).json()
    assert search["rows"] and all(row["probe_cc"] == "CN" for row in search["rows"])


def test_api_paging_next_link(client: TestClient) -> None:
    first = client.get("/api/v1/measurements", params={"probe_cc": "IR", "limit": 10}).json()
    assert len(first["results"]) == 10 and first["total"] > 10
    second = client.get(first["next"]).json()
    assert second["offset"] == 10
    assert not {r["measurement_uid"] for r in first["results"]} & {r["measurement_uid"] for r in second["results"]}


@pytest.mark.parametrize(
    ("path", "status"),
    [("/api/v1/measurements?probe_cc=XYZ", 400), ("/api/v1/measurements/nope", 404),
     ("/api/v1/aggregates?axis=planet", 400), ("/api/v1/register/diff", 404), ("/api/v1/register/lookup?target=x", 404),
     ("/country/ZZ", 404), ("/measurement/nope", 404), ("/measurement/nope.json", 404), ("/search?since=x", 400)],
)
def test_errors_are_clear(client: TestClient, path: str, status: int) -> None:
    response = client.get(path)
    assert response.status_code == status
    if path.startswith("/api") or path.endswith(".json"):
        assert response.json()["error"]


def test_register_section_hidden_without_register_data(client: TestClient) -> None:
    assert client.get("/api/v1/register/snapshots").json() == {"error": "no register data"}
    assert 'id="register"' not in client.get("/target?t=twitter.com").text


def test_openapi_schema_lists_the_api(client: TestClient) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    for path in ("/api/v1/measurements", "/api/v1/measurements/{uid}", "/api/v1/aggregates",
                 "/api/v1/targets/timeline", "/api/v1/register/diff"):
        assert path in schema["paths"]
    assert client.get("/docs").status_code == 404  # Swagger UI would load from a CDN


def test_missing_store_home_explains_how_to_fill_it(tmp_path: Path) -> None:
    with TestClient(create_app(tmp_path / "none" / "store.duckdb")) as client:
        home = client.get("/")
        assert home.status_code == 200
        assert "censorwatch probe" in home.text and "censorwatch ingest ooni" in home.text
        assert client.get("/index.json").json()["state"] == "missing"
        assert client.get("/api/v1/measurements").status_code == 404
        assert client.get("/country/IR").status_code == 404
        assert client.get("/api/v1/status").json()["state"] == "missing"


def test_empty_store_home_explains_how_to_fill_it(tmp_path: Path) -> None:
    path = tmp_path / "empty.duckdb"
    Store(path).close()
    with TestClient(create_app(path)) as client:
        assert "No measurements yet" in client.get("/").text
        assert client.get("/api/v1/status").json()["state"] == "empty"


def test_busy_store_gets_a_clear_page(tmp_path: Path) -> None:
    path = tmp_path / "busy.duckdb"
    Store(path).close()
    # Another process holds the store for writing, as `censorwatch ingest` would.
    writer = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ready', flush=True);"
         " sys.stdin.read()", str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
        with TestClient(create_app(path)) as client:
            page = client.get("/country/IR")
            assert page.status_code == 503 and "being written" in page.text
            assert client.get("/api/v1/measurements").status_code == 503
            assert client.get("/api/v1/status").json()["state"] == "busy"
    finally:
        assert writer.stdin is not None
        writer.stdin.close()
        writer.wait(timeout=10)


def test_idle_connection_is_released_for_writers(store_file: Path, tmp_path: Path) -> None:
    path = tmp_path / "shared.duckdb"
    path.write_bytes(store_file.read_bytes())
    with TestClient(create_app(path, idle_close=0.2)) as client:
        assert client.get("/api/v1/measurements", params={"limit": 1}).status_code == 200
        access = client.app.state.access  # type: ignore[attr-defined]
        assert access.is_open()
        import time

        deadline = time.monotonic() + 5
        while access.is_open() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not access.is_open()
        # A writer in another process can now open the store.
        code = subprocess.run([sys.executable, "-c", "import duckdb, sys; duckdb.connect(sys.argv[1]).close()",
                               str(path)], timeout=30).returncode
        assert code == 0
        assert client.get("/api/v1/measurements", params={"limit": 1}).status_code == 200


def test_every_real_ooni_measurement_renders(shared_data: Path, tmp_path: Path) -> None:
    path = tmp_path / "real.duckdb"
    with Store(path) as store:
        stored = store.add(demo.real(shared_data / "ooni" / "measurements"))
    assert stored > 30
    with TestClient(create_app(path)) as client:
        rows = client.get("/api/v1/measurements", params={"limit": 500}).json()["results"]
        assert len(rows) == stored
        for row in rows:
            page = client.get(f"/measurement/{row['measurement_uid']}")
            assert page.status_code == 200, row["measurement_uid"]
            assert "<script" not in page.text
        for cc in {row["probe_cc"] for row in rows}:
            assert client.get(f"/country/{cc}").status_code == 200
        for domain in {row["domain"] for row in rows if row["domain"]}:
            assert client.get("/target", params={"t": domain}).status_code == 200


def test_register_entries_show_on_the_target_page(client: TestClient) -> None:
    """What the page does with RegistryStore.lookup() rows (the register itself is H7's module)."""
    from censorwatch.web.pages import target
    from censorwatch.web.render import ENV

    data = client.get("/target.json", params={"t": "twitter.com"}).json()
    entries = [{"entry_id": 1, "domain": "twitter.com", "decision_org": "Генпрокуратура",
                "ips": ["1.2.3.4", "5.6.7.8"]},
               {"entry_id": 2, "url": f"https://twitter.com/{PAYLOAD}", "decision_date": "2022-03-04"}]
    context = {**data, **target.decorate(data), "register": entries,
               "register_columns": list(dict.fromkeys(k for e in entries for k in e))}
    html = ENV.get_template("target.html").render(**context)
    assert 'id="register"' in html and "Генпрокуратура" in html and "1.2.3.4, 5.6.7.8" in html
    assert "<img" not in html and "&lt;img src=x" in html
    assert "decision date" in html
