"""Every page renders with real data in chromium, filters and links work, nothing leaves
loopback, and screenshots are kept in test-artifacts/screenshots/."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest

from censorwatch.web.server import BackgroundServer
from censorwatch.web.words import blocking_label
from tests.browser.conftest import Site, Watched

pytestmark = pytest.mark.browser


def test_home_map_and_latest(page: Watched, site: Site) -> None:
    page.goto("/")
    assert page.page.title().startswith("Internet censorship explorer")
    tiles = page.page.locator("svg g.tile")
    assert tiles.count() > 150
    # Iran has confirmed blocking in the sample: its tile is coloured and links to its page.
    iran = page.page.locator('g.tile[data-cc="IR"]')
    assert "lv0" not in (iran.get_attribute("class") or "")
    assert page.page.locator("#countries tbody tr").count() >= 10
    assert page.page.locator("text=Latest confirmed blocking").count() == 1
    page.shot("home")
    page.page.locator('a:has(g.tile[data-cc="IR"])').click()
    page.page.wait_for_url("**/country/IR")
    assert "Censorship in Iran" in page.page.locator("h1").inner_text()


def test_country_page_chart_filters_and_links(page: Watched, site: Site) -> None:
    page.goto("/country/RU")
    assert page.page.locator("figure.chart svg rect").count() > 10
    assert page.page.locator("#targets tbody tr").count() > 0
    assert page.page.locator("#methods tbody tr").count() > 0
    page.shot("country-RU")
    # The period filter is a GET form: narrowing it changes the counts shown.
    before = page.page.locator(".lead .counts b").first.inner_text()
    page.page.fill('input[name="since"]', "2025-05-25")
    page.page.click("form.filters button")
    page.page.wait_for_url("**since=2025-05-25**")
    after = page.page.locator(".lead .counts b").first.inner_text()
    assert int(after.replace(",", "")) < int(before.replace(",", ""))
    # The most blocked target links to its target page.
    page.page.locator("#targets tbody a").first.click()
    page.page.wait_for_url("**/target?**")
    assert "blocked?" in page.page.locator("h1").inner_text()


def test_target_page_timeline_and_navigation(page: Watched, site: Site) -> None:
    page.goto("/target?t=twitter.com")
    assert page.page.locator("figure.chart svg rect").count() > 20
    countries = page.page.locator("#countries tbody tr")
    assert countries.count() >= 5
    page.shot("target-twitter")
    page.page.locator("a.details").first.click()
    page.page.wait_for_url("**/measurement/**")
    assert page.page.locator(".verdict-box").count() == 1


def test_measurement_page_probe_next_to_control(page: Watched, site: Site) -> None:
    page.goto(f"/measurement/{site.uids['blockpage']}")
    assert page.page.locator("#dns tbody tr").count() >= 1
    assert page.page.locator("#tcp tbody tr").count() >= 1
    assert "Access denied" in page.page.locator("#probe-title").inner_text()
    assert "restricted by decision" in page.page.locator("#body").inner_text()
    assert page.page.locator("#m-reason").inner_text().strip() != ""
    page.shot("measurement-blockpage")


def test_real_ooni_measurement_page(page: Watched, site: Site, shared_data: object) -> None:
    page.goto(f"/measurement/{site.uids['real_ir']}")
    assert page.page.locator("#dns tbody tr").count() >= 1
    page.shot("measurement-real-ooni")
    page.goto(f"/measurement/{site.uids['real_app']}")
    assert "telegram" in page.page.locator("h1").inner_text()
    assert page.page.locator("details[open] pre.json").inner_text().startswith("{")
    page.shot("measurement-real-telegram")


def test_search_filters_and_paging(page: Watched, site: Site) -> None:
    cc, blocking = site.uids["busiest_blocking"].split()
    page.goto("/search")
    page.page.fill('input[name="probe_cc"]', cc.lower())
    page.page.select_option('select[name="blocking"]', blocking)
    page.page.click("#search-form button")
    page.page.wait_for_url(f"**probe_cc={cc.lower()}**")
    rows = page.page.locator("table.list tbody tr")
    assert rows.count() == 50
    cells = page.page.locator("table.list tbody tr td:nth-child(2)").all_inner_texts()
    assert set(cells) == {cc}
    assert set(page.page.locator("table.list tbody span.method").all_inner_texts()) == {blocking_label(blocking)}
    assert "measurements match" in page.page.locator("#summary").inner_text()
    page.shot("search-by-country-and-method")
    page.page.click("a[rel=next]")
    page.page.wait_for_url("**offset=50**")
    assert page.page.locator("table.list tbody tr").count() > 0


def test_json_twins_match_pages(page: Watched, site: Site) -> None:
    response = page.goto("/country/IR.json")
    data = response.json()
    assert data["probe_cc"] == "IR" and data["totals"]["total"] > 0
    response = page.goto("/target.json?t=" + quote("twitter.com"))
    assert response.json()["countries"]


def test_empty_query_and_missing_pages_are_clear(page: Watched, site: Site) -> None:
    response = page.goto("/measurement/does-not-exist")
    assert response.status == 404
    assert "No measurement" in page.page.locator(".lead").inner_text()
    page.console_errors.clear()  # chromium logs the 404 status itself as a console error


def test_empty_store_home_explains_how_to_fill_it(page: Watched, tmp_path: Path) -> None:
    with BackgroundServer(tmp_path / "nothing-yet.duckdb") as empty:
        response = page.page.goto(empty.url + "/")
        assert response is not None and response.status == 200
        text = page.page.locator("main").inner_text()
        assert "No measurements yet" in text
        assert "censorwatch probe" in text and "censorwatch ingest ooni" in text
        page.shot("home-empty-store")
