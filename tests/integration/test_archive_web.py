"""The archive in the web app, in-process (FastAPI's TestClient) on stores filled by the real
`censorwatch archive add` and `archive request import`: the JSON API's shapes and facets, documents
and their originals, private collections served only with private=True, masking in HTML and JSON
alike, the target page of a site with documents but no measurements, hostile text escaped, a
store without the archive's tables, and the shared real documents when present."""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from typer.testing import CliRunner

from censorwatch.cli.main import app as cli
from censorwatch.store.database import Store
from censorwatch.web import demo
from censorwatch.web.aggregates import refresh_aggregates
from censorwatch.web.app import create_app

pytestmark = pytest.mark.integration

SEARCH_FIELDS = {"doc_id", "title", "collection", "language", "date", "score", "snippet", "sha256", "highlights"}
PRIVATE_EMAIL = "ivan.petrov@mail.ru"
PRIVATE_PHONE = "+7 (912) 345-67-89"
HOSTILE = '<script>alert("doc")</script> "><img src=x onerror=alert(1)>'
NOTICE_NAME = 'уведомление "451555"; копия.eml'
NOTICE = f"""From: Роскомнадзор <zapret-info-out@rkn.gov.ru>
To: Иван Петров <{PRIVATE_EMAIL}>
Subject: [eais#560867] Роскомнадзор информирует
Date: Wed, 13 Jun 2018 17:43:26 +0300

Направляется уведомление о внесении в «Единый реестр доменных имен, указателей страниц сайтов в сети
«Интернет»» следующего указателя страницы сайта в сети «Интернет»: http://pontorez.com/node/768 .
Реестровая запись 451555-РИ, решение Заволжского районного суда г. Твери № 2-1066/2016.
Владелец сайта: {PRIVATE_EMAIL}, тел. {PRIVATE_PHONE}. Блокировка по ч. 7 ст. 15.1 149-ФЗ.
{HOSTILE}
""".encode()
CHINESE = "国家网信部门依据《网络安全法》要求网络运营者删除违法信息，并屏蔽 example-cn.cn 的传播。".encode()
MEMBER = b"Order blocking-order-77 against example-blog.ru and its pages."
LEAK = "Служебная записка: блокировка сайта leaked-site.ru, связаться anna@example-mail.ru".encode()


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.stderr
    return result.stdout


def add(db: Path, path: Path, *options: str) -> None:
    run("archive", "add", str(path), "--db", str(db), "--workers", "2", "--format", "json", *options)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("archive-web")
    files = folder / "public"
    files.mkdir()
    (files / NOTICE_NAME).write_bytes(NOTICE)
    (files / "cybersecurity.txt").write_bytes(CHINESE)
    with zipfile.ZipFile(files / "bundle.zip", "w") as bundle:
        bundle.writestr("member.txt", MEMBER)
    db = folder / "store.duckdb"
    add(db, files, "--collection", "notices")
    (folder / "leak").mkdir()
    (folder / "leak" / "memo.txt").write_bytes(LEAK)
    add(db, folder / "leak", "--collection", "leak", "--private")
    requests = folder / "requests.yaml"
    requests.write_text(f"""requests:
  - id: tver-2-1066-2016
    requester: Заволжский районный суд г. Твери
    recipient: Roskomnadzor
    date: 2016-03-25
    action: block
    targets: [http://pontorez.com/node/768]
    documents: [{hashlib.sha256(NOTICE).hexdigest()}]
    outcome: complied
    note: "site owner {PRIVATE_EMAIL}"
""", encoding="utf-8")
    run("archive", "request", "import", str(requests), "--db", str(db))
    return db


@pytest.fixture(scope="module")
def client(store: Path) -> Iterator[TestClient]:
    with TestClient(create_app(store)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def private_client(store: Path) -> Iterator[TestClient]:
    with TestClient(create_app(store, private=True)) as test_client:
        yield test_client


def search(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get("/api/v1/archive/search", params=params)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def notice_id(client: TestClient) -> str:
    return str(search(client, q="451555-РИ")["hits"][0]["doc_id"])


def facet(found: dict[str, Any], name: str) -> dict[str, int]:
    return {row["value"]: row["count"] for row in found["facets"][name]}


def test_search_json_shape_highlights_and_facets(client: TestClient) -> None:
    found = search(client, q="pontorez.com")
    assert found["total"] == 1 and found["notice"] is None
    hit = found["hits"][0]
    assert set(hit) >= SEARCH_FIELDS and len(hit["sha256"]) == 64 and hit["collection"] == "notices"
    assert hit["highlights"] and all(hit["snippet"][start:end].lower().startswith("pontorez")
                                     for start, end in hit["highlights"])
    # Facets count every match, not the page: one hit shown, all public documents counted.
    everything = search(client, limit=1)
    assert len(everything["hits"]) == 1 and everything["total"] == 4  # notice, Chinese text, ZIP and its member
    assert sum(facet(everything, "collection").values()) == everything["total"]
    assert facet(everything, "collection") == {"notices": 4}
    assert facet(everything, "language")["zh"] == 1 and "ru" in facet(everything, "language")
    assert facet(everything, "year") == {"2018": 1}
    # A facet's count is what choosing it gives.
    for language, count in facet(everything, "language").items():
        assert search(client, lang=language)["total"] == count
    assert search(client, since="2018-01-01", until="2018-12-31")["total"] == 1
    assert search(client, q="网络")["hits"][0]["language"] == "zh"
    assert search(client, entity="record:451555-RI")["total"] == 1


def test_search_errors_and_private_contacts(client: TestClient, private_client: TestClient) -> None:
    for params in ({"q": '"unclosed'}, {"since": "13.06.2018"}, {"entity": "nonsense"}):
        response = client.get("/api/v1/archive/search", params=params)
        assert response.status_code == 400 and response.json()["error"], params
    # The index holds the address: finding the documents that contain it would undo the masking.
    assert client.get("/api/v1/archive/search", params={"q": PRIVATE_EMAIL}).status_code == 400
    assert search(private_client, q=PRIVATE_EMAIL)["total"] == 1


def test_document_json_and_its_family(client: TestClient) -> None:
    doc_id = notice_id(client)
    shown = client.get(f"/api/v1/archive/documents/{doc_id}").json()
    assert shown["doc_id"] == doc_id and "pages" not in shown and "original" not in shown
    assert shown["original_url"] == f"/api/v1/archive/documents/{doc_id}/original"
    assert {e["value"] for e in shown["entities"]} >= {"http://pontorez.com/node/768", "451555-РИ", "pontorez.com"}
    assert [r["id"] for r in shown["requests"]] == ["tver-2-1066-2016"]
    with_text = client.get(f"/api/v1/archive/documents/{doc_id}", params={"text": "true"}).json()
    assert "451555-РИ" in with_text["pages"][0]["text"]
    member = search(client, q="blocking-order-77")["hits"][0]
    bundle = client.get(f"/api/v1/archive/documents/{member['parent_id']}").json()
    assert bundle["kind"] == "zip" and [c["name"] for c in bundle["children"]] == ["member.txt"]
    assert client.get(f"/api/v1/archive/documents/{member['doc_id']}").json()["parent"]["doc_id"] == bundle["doc_id"]
    assert client.get("/api/v1/archive/documents/ffffffffffffffffffff").status_code == 404
    page = client.get(f"/archive/doc/{doc_id}.json").json()
    assert page["doc_id"] == doc_id and page["pages"] and page["mentions"]


def test_public_views_name_the_file_not_the_operators_directories(client: TestClient,
                                                                  private_client: TestClient) -> None:
    doc_id = notice_id(client)
    public = client.get(f"/api/v1/archive/documents/{doc_id}").json()
    private = private_client.get(f"/api/v1/archive/documents/{doc_id}").json()
    assert private["original_path"].startswith("/") and private["original_path"].endswith(public["original_path"])
    assert public["original_path"] and "/" not in public["original_path"]
    assert [place["original_path"] for place in public["locations"]] == [public["original_path"]]
    html = client.get(f"/archive/doc/{doc_id}").text
    assert escape(public["original_path"]) in html and escape(private["original_path"]) not in html


def test_original_is_a_download_of_the_same_bytes(client: TestClient) -> None:
    doc_id = notice_id(client)
    response = client.get(f"/api/v1/archive/documents/{doc_id}/original")
    assert response.status_code == 200 and response.content == NOTICE
    headers = response.headers
    assert headers["content-type"] == "application/octet-stream"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["content-security-policy"] == "sandbox; default-src 'none'"
    disposition = headers["content-disposition"]
    assert disposition.startswith("attachment; ")
    encoded = re.search(r"filename\*=UTF-8''(\S+)$", disposition)
    assert encoded is not None and unquote(encoded.group(1)) == "уведомление _451555__ копия.eml"
    assert all(32 <= ord(ch) < 127 for ch in disposition)
    member = search(client, q="blocking-order-77")["hits"][0]["doc_id"]
    assert client.get(f"/api/v1/archive/documents/{member}/original").content == MEMBER


def test_private_collection_is_served_only_in_private_mode(client: TestClient, private_client: TestClient,
                                                            store: Path) -> None:
    assert search(client, q="leaked-site.ru")["total"] == 0
    assert "leak" not in facet(search(client), "collection")
    hit = search(private_client, q="leaked-site.ru")["hits"][0]
    doc_id = hit["doc_id"]
    for path in (f"/api/v1/archive/documents/{doc_id}", f"/api/v1/archive/documents/{doc_id}/original",
                 f"/archive/doc/{doc_id}", f"/api/v1/archive/documents/{hit['sha256']}"):
        hidden = client.get(path)
        assert hidden.status_code == 404, path
        assert "private" not in hidden.text  # not even that it exists
    assert private_client.get(f"/api/v1/archive/documents/{doc_id}/original").content == LEAK
    assert "anna@example-mail.ru" in private_client.get(f"/archive/doc/{doc_id}").text
    public_values = {row["value"] for row in client.get("/api/v1/archive/entities").json()["entities"]}
    assert "leaked-site.ru" not in public_values
    private_values = {row["value"] for row in private_client.get("/api/v1/archive/entities").json()["entities"]}
    assert "leaked-site.ru" in private_values
    assert client.get("/api/v1/archive/targets", params={"t": "leaked-site.ru"}).json()["documents"] == []
    assert private_client.get("/api/v1/archive/targets", params={"t": "leaked-site.ru"}).json()["documents"]


def test_contacts_are_masked_in_public_html_and_json(client: TestClient, private_client: TestClient) -> None:
    doc_id = notice_id(client)
    responses = [client.get(f"/archive/doc/{doc_id}"), client.get(f"/archive/doc/{doc_id}.json"),
                 client.get(f"/api/v1/archive/documents/{doc_id}", params={"text": "true"}),
                 client.get("/archive", params={"q": "Владелец сайта"}),
                 client.get("/api/v1/archive/search", params={"q": "Владелец сайта"}),
                 client.get("/api/v1/archive/requests"), client.get("/target", params={"t": "pontorez.com"}),
                 client.get("/api/v1/archive/entities", params={"type": "email"})]
    for response in responses:
        assert response.status_code == 200, response.url
        text = json.dumps(response.json(), ensure_ascii=False) if "json" in response.headers["content-type"] \
            else response.text
        assert "ivan.petrov" not in text and "345-67-89" not in text, response.url
    assert "█" in responses[0].text and "zapret-info-out@rkn.gov.ru" in responses[0].text
    private = private_client.get(f"/archive/doc/{doc_id}").text
    assert PRIVATE_EMAIL in private and PRIVATE_PHONE in private


def test_document_page_links_entities_and_escapes_hostile_text(client: TestClient) -> None:
    doc_id = notice_id(client)
    html = client.get(f"/archive/doc/{doc_id}").text
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;doc&#34;)&lt;/script&gt;" in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert 'href="/target?t=http%3A%2F%2Fpontorez.com%2Fnode%2F768"' in html
    assert 'href="/target?t=pontorez.com"' in html
    assert 'href="/archive?entity=record%3A451555-%D0%A0%D0%98"' in html
    assert f'href="/api/v1/archive/documents/{doc_id}/original"' in html
    assert 'id="requests"' in html and "Заволжский районный суд" in html
    search_page = client.get("/archive", params={"q": "onerror"}).text
    assert "<img src=x" not in search_page and "<mark>onerror</mark>" in search_page
    assert 'href="/archive">Documents</a>' in search_page
    for page in (html, search_page):
        for attribute, value in re.findall(r'\b(href|src|action)="([^"]*)"', page):
            assert value.startswith(("/", "?", "#")), (attribute, value)


def test_search_page_facets_and_pages(client: TestClient) -> None:
    html = client.get("/archive").text
    assert 'id="facets"' in html and "notices" in html and 'id="hits"' in html
    assert 'href="/archive?lang=zh"' in html and 'href="/archive?since=2018-01-01&amp;until=2018-12-31"' in html
    assert client.get("/archive.json", params={"q": "网络"}).json()["total"] == 1
    assert client.get("/archive", params={"q": "(unclosed"}).status_code == 400


def test_target_page_lists_documents_without_measurements(client: TestClient) -> None:
    doc_id = notice_id(client)
    page = client.get("/target", params={"t": "pontorez.com"})
    assert page.status_code == 200
    assert 'id="archive-named"' in page.text and f'href="/archive/doc/{doc_id}"' in page.text
    assert 'id="named-requests"' in page.text and "Заволжский районный суд г. Твери" in page.text
    data = client.get("/target.json", params={"t": "pontorez.com"}).json()
    assert data["countries"] == [] and [d["doc_id"] for d in data["archive"]["documents"]] == [doc_id]
    assert client.get("/target", params={"t": "never-named.example"}).status_code == 404
    named = client.get("/api/v1/archive/targets", params={"t": "http://pontorez.com/node/768"}).json()
    assert named["documents"][0]["how"] == "url" and named["requests"][0]["id"] == "tver-2-1066-2016"
    assert named == {**named, "kind": "url", "value": "http://pontorez.com/node/768"}
    www = client.get("/api/v1/archive/targets", params={"t": "www.pontorez.com"}).json()
    assert www["documents"][0]["how"] == "www" and www["requests"][0]["how"] == "www"
    assert client.get("/api/v1/archive/targets", params={"t": "not a target"}).status_code == 400


def test_api_routes_are_in_the_schema(client: TestClient) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for route in ("search", "documents/{doc_id}", "documents/{doc_id}/original", "entities", "requests", "targets"):
        assert f"/api/v1/archive/{route}" in paths
    listed = client.get("/api/v1/archive/requests").json()["requests"]
    assert [r["id"] for r in listed] == ["tver-2-1066-2016"] and "█" in listed[0]["note"]


def test_store_without_archive_tables(tmp_path: Path) -> None:
    db = tmp_path / "measurements.duckdb"
    with Store(db) as measurements:
        measurements.add(demo.synthetic(days=3, per_day=1))
        refresh_aggregates(measurements.con)
    with TestClient(create_app(db)) as client:
        found = search(client, q="anything")
        assert (found["total"], found["hits"], found["notice"] is not None) == (0, [], True)
        assert client.get("/archive").status_code == 200
        assert client.get("/api/v1/archive/documents/0123456789abcdef0123").status_code == 404
        assert client.get("/api/v1/archive/entities").json() == {"entities": [], "hidden": 0}
        assert client.get("/api/v1/archive/requests").json() == {"requests": []}
        assert client.get("/api/v1/archive/targets", params={"t": "twitter.com"}).json()["documents"] == []
        assert client.get("/target", params={"t": "twitter.com"}).status_code == 200


def test_shared_documents_on_the_target_page(shared_data: Path, tmp_path: Path) -> None:
    db = tmp_path / "shared.duckdb"
    add(db, shared_data / "documents", "--collection", "shared")
    with TestClient(create_app(db)) as client:
        data = client.get("/target.json", params={"t": "pontorez.com"}).json()
        names = {item["name"] for item in data["archive"]["documents"]}
        assert "451555_notification_on.rtf" in names and "ru_rkn_notification_451555-RI_2018_decoded.txt" in names
        notification = next(d for d in data["archive"]["documents"] if d["name"] == "451555_notification_on.rtf")
        page = client.get("/target", params={"t": "pontorez.com"}).text
        assert f'href="/archive/doc/{notification["doc_id"]}"' in page
        url = client.get("/api/v1/archive/targets", params={"t": "http://pontorez.com/node/768"}).json()
        assert notification["doc_id"] in {d["doc_id"] for d in url["documents"] if d["how"] == "url"}
