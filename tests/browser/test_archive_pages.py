"""The archive's pages in Debian's chromium: search in the box, open a hit, see the document with
its entities marked and linked, follow a site's link to its target page (a site with documents and
no measurements), download the original; hostile document text runs nothing; no console error,
no CSP violation, nothing requested from another host (the `page` fixture checks those)."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from censorwatch.cli.main import app as cli
from censorwatch.web.server import BackgroundServer
from tests.browser.conftest import PWNED, Site, Watched

pytestmark = pytest.mark.browser

NOTICE_NAME = "notice 451555.eml"
NOTICE = f"""From: Роскомнадзор <zapret-info-out@rkn.gov.ru>
To: owner@example-blog.ru
Subject: [eais#560867] Роскомнадзор информирует
Date: Wed, 13 Jun 2018 17:43:26 +0300

Направляется уведомление о внесении в единый реестр указателя страницы сайта: http://pontorez.com/node/768 .
Реестровая запись 451555-РИ, решение № 2-1066/2016, телефон владельца +7 (912) 345-67-89.
<script>{PWNED}</script> "><img src=x onerror="{PWNED}"> <style>body{{display:none}}</style>
""".encode()
# Watches for violations of the page's CSP (inline script or style that tried to run): Playwright
# adds this script itself, outside the page's policy.
CSP_WATCH = ("window.__csp = []; document.addEventListener('securitypolicyviolation', "
             "e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));")


def _add(db: Path, path: Path) -> None:
    result = CliRunner().invoke(cli, ["archive", "add", str(path), "--db", str(db), "--workers", "1",
                                      "--collection", "notices", "--format", "json"])
    assert result.exit_code == 0, result.stderr


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Overrides the measurement site of conftest.py for this module: a store holding documents only."""
    folder = tmp_path_factory.mktemp("archive-browser")
    files = folder / "files"
    files.mkdir()
    (files / NOTICE_NAME).write_bytes(NOTICE)
    (files / "law.txt").write_text("《网络安全法》规定网络运营者应当删除违法信息。", encoding="utf-8")
    with zipfile.ZipFile(files / "bundle.zip", "w") as bundle:
        bundle.writestr("member.txt", "blocking-order-77 against example-blog.ru")
    db = folder / "store.duckdb"
    _add(db, files)
    with BackgroundServer(db) as server:
        yield Site(server.url, db, "", {})


def _csp_violations(page: Watched) -> list[str]:
    found: list[str] = page.page.evaluate("window.__csp || []")
    return found


@pytest.fixture
def watched(page: Watched) -> Watched:
    page.page.context.add_init_script(CSP_WATCH)
    return page


def test_search_open_a_hit_follow_an_entity_to_the_target(watched: Watched) -> None:
    page: Any = watched.page
    watched.goto("/")
    page.click("header nav >> text=Documents")
    page.fill("#archive-q", "451555-РИ")
    page.click("#archive-form button[type=submit]")
    page.wait_for_selector("#hits li.hit")
    assert "1 document matches" in page.inner_text("#archive-summary")
    assert page.inner_text("#hits li.hit mark") == "451555-РИ"
    assert _csp_violations(watched) == []
    watched.shot("archive-search")

    page.click("#hits li.hit a.hit-title")
    page.wait_for_selector("#text pre.doctext")
    assert page.url.startswith(watched.base + "/archive/doc/")
    link = page.locator("pre.doctext a.ent-url", has_text="http://pontorez.com/node/768").first
    assert link.is_visible()
    # Marked: the entity stands out from the text around it.
    assert link.evaluate("e => getComputedStyle(e).backgroundColor") not in ("rgba(0, 0, 0, 0)", "transparent")
    assert "█" in page.inner_text("pre.doctext") and "345-67-89" not in page.content()
    assert page.evaluate("window.__pwned") is None
    assert page.locator("pre.doctext").inner_text().count("<script>") == 1  # shown as text
    assert page.locator("body").is_visible()  # the document's <style> did not apply
    assert _csp_violations(watched) == []
    watched.shot("archive-document")

    with page.expect_download() as download:
        page.click("#download")
    assert download.value.suggested_filename == NOTICE_NAME
    assert Path(download.value.path()).read_bytes() == NOTICE

    link.click()
    page.wait_for_selector("#archive-named")
    assert "/target?t=" in page.url
    assert page.locator("#named-documents a", has_text="Роскомнадзор информирует").count() == 1
    assert "No measurements" in page.inner_text("p.lead")
    assert _csp_violations(watched) == []
    watched.shot("archive-target")


def test_facets_and_a_chinese_query(watched: Watched) -> None:
    page: Any = watched.page
    watched.goto("/archive")
    assert page.locator("#hits li.hit").count() == 4  # the notice, the law, the ZIP and its member
    page.click("#facets a:text-is('zh')")
    page.wait_for_url("**lang=zh**")
    assert page.locator("#hits li.hit").count() == 1
    page.fill("#archive-q", "网络")
    page.press("#archive-q", "Enter")
    page.wait_for_selector("#hits li.hit mark")
    assert page.inner_text("#hits li.hit mark") == "网络"
    assert _csp_violations(watched) == []
