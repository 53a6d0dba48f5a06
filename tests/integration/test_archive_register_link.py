"""A document naming a court case or a decision links to the register entries that decision
ordered, and the register page lists them: on a store filled by the real commands."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from censorwatch.cli.main import app as cli
from censorwatch.store.database import Store
from censorwatch.store.registry import RegistryStore
from censorwatch.web.app import create_app

pytestmark = pytest.mark.integration

NOTICE = """Уведомление о внесении в Единый реестр

В соответствии с частью 7 статьи 15.1 Федерального закона от 27.07.2006 № 149-ФЗ уведомляем, что на
основании решения суда (Заволжский районный суд г. Твери) от 25.03.2016 № 2-1066/2016 указатель
страницы сайта http://pontorez.com/node/768 включен в реестр, номер реестровой записи 451555-РИ.
Решение прокурора 27-31-2015/Ид4082-15 к этой странице не относится.
"""


def _run(*args: str) -> None:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("decisions")
    db = folder / "store.duckdb"
    dump = folder / "dump.csv"
    lines = [
        "Updated: 2018-06-13 06:00:00 +0000",
        ";pontorez.com;http://pontorez.com/node/768;Заволжский районный суд г. Твери;2-1066/2016;2016-03-25",
        "104.28.10.72;;;Генпрокуратура;27-31-2015/Ид4082-15 ;2015-12-04",
        "104.28.11.72;;;Генпрокуратура;27-31-2015/Ид4082-15 ;2015-12-04",
        "9.9.9.9;other.example;;ФНС;2-6-27/ 2016-02-03-20-АИ;2016-02-04",
    ]
    dump.write_bytes(("\n".join(lines) + "\n").encode("cp1251"))
    _run("ingest", "registry-ru", str(dump), "--db", str(db))
    notice = folder / "notice.txt"
    notice.write_text(NOTICE, encoding="utf-8")
    _run("archive", "add", str(notice), "--collection", "notices", "--db", str(db))
    return db


@pytest.fixture(scope="module")
def client(store: Path) -> Iterator[TestClient]:
    with TestClient(create_app(store)) as test_client:
        yield test_client


def test_entries_citing_a_decision_ignore_stray_spaces_and_case(store: Path) -> None:
    with Store(store, read_only=True) as opened:
        registry = RegistryStore(opened.con)
        assert [e["domains"] for e in registry.entries_citing("2-1066/2016")] == [["pontorez.com"]]
        assert len(registry.entries_citing(" 27-31-2015/ИД4082-15")) == 2
        assert registry.entries_citing("2-9999/2016") == []
        assert registry.entries_citing("  ") == []


def test_the_document_page_links_each_decision_to_the_entries_it_ordered(client: TestClient) -> None:
    hit = client.get("/api/v1/archive/search", params={"q": "2-1066/2016"}).json()["hits"][0]
    data = client.get(f"/archive/doc/{hit['doc_id']}.json").json()
    assert data["register_citing"] == {"2-1066/2016": 1, "27-31-2015/Ид4082-15": 2}
    html = client.get(f"/archive/doc/{hit['doc_id']}").text
    assert "/register?decision=2-1066%2F2016" in html and "1 register entry" in html
    assert "2 register entries" in html


def test_the_register_page_lists_what_a_decision_ordered(client: TestClient) -> None:
    data = client.get("/register.json", params={"decision": "2-1066/2016"}).json()
    assert data["citing"]["decision"] == "2-1066/2016"
    (entry,) = data["citing"]["entries"]
    assert entry["authority"] == "Заволжский районный суд г. Твери" and entry["urls"] == ["http://pontorez.com/node/768"]
    page = client.get("/register", params={"decision": "2-1066/2016"}).text
    assert "Entries ordered by decision 2-1066/2016" in page and "pontorez.com" in page
    none = client.get("/register", params={"decision": "2-9999/2016"}).text
    assert "No entry of the register snapshots stored cites this decision." in none
