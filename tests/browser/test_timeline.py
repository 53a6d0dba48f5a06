"""The target timeline, the home page's events and the register's compliance latency in Debian's
chromium, on a store filled by the real commands (tests/integration/timeline_store.py). The
conftest's `page` fixture fails a test on any console error, page error, dialog or request to
another host; CSP violations are also collected from the page's own event."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from censorwatch.web.server import BackgroundServer
from tests.browser.conftest import Site, Watched
from tests.integration import timeline_store

pytestmark = pytest.mark.browser

# Added before any page script runs (through the DevTools protocol, which CSP does not govern).
WATCH_CSP = ("window.__csp = []; document.addEventListener('securitypolicyviolation', "
             "e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Overrides the conftest's site for this module: the conftest's `page` then serves this one."""
    db = timeline_store.build(tmp_path_factory.mktemp("timeline-browser"))
    with BackgroundServer(db) as server:
        yield Site(server.url, db, "", {})


def _open(page: Watched, path: str) -> Any:
    page.page.add_init_script(WATCH_CSP)
    response = page.goto(path)
    assert response.status == 200
    return page.page


def _no_csp_violations(tab: Any) -> None:
    assert tab.evaluate("window.__csp") == []


def test_target_page_draws_the_timeline(page: Watched) -> None:
    tab = _open(page, "/target?t=news.example")
    svg = tab.locator("#timeline-svg")
    svg.wait_for(state="visible")
    box = svg.bounding_box()
    assert box is not None and box["width"] > 600 and box["height"] > 100
    # Three event bars (two networks and the country-wide one), two of them ongoing with an arrow.
    assert tab.locator("#timeline-svg rect.tl-event").count() == 3
    assert tab.locator("#timeline-svg polygon.tl-arrow").count() == 2
    assert "dns blocking from 2024-02-29" in tab.locator("#timeline-svg rect.tl-event >> title").first.text_content()
    # The register's addition and removal, each with a guide across the lanes.
    assert tab.locator("#timeline-svg polygon.tl-added").count() == 1
    assert tab.locator("#timeline-svg polygon.tl-removed").count() == 1
    assert tab.locator("#timeline-svg line.tl-guide").count() == 2
    assert "added to the register" in tab.locator("#timeline-svg polygon.tl-added >> title").text_content()
    assert tab.locator("#timeline-svg rect.tl-document").count() == 1
    assert tab.locator("#timeline-svg polygon.tl-request").count() == 1
    # Styles come from the stylesheet (CSP forbids inline ones): the event bar is really coloured.
    fill = tab.locator("#timeline-svg rect.tl-event").first.evaluate("e => getComputedStyle(e).fill")
    assert fill == "rgb(74, 20, 140)"
    added = tab.locator("#timeline-svg polygon.tl-added").bounding_box()
    bar = tab.locator("#timeline-svg rect.tl-event").first.bounding_box()
    assert added is not None and bar is not None and added["x"] < bar["x"]  # listed before blocked
    feed = tab.locator('head link[rel="alternate"][type="application/atom+xml"]')
    assert feed.get_attribute("href") == "/feeds/events.atom?target=news.example"
    _no_csp_violations(tab)
    page.shot("timeline")


def test_timeline_links_lead_to_country_and_network(page: Watched) -> None:
    tab = _open(page, "/target?t=news.example")
    tab.locator("#timeline-svg .tl-country a").filter(has_text="RU Russia").click()
    tab.wait_for_url("**probe_cc=RU**")
    assert tab.locator("#timeline-svg .tl-country").count() == 1  # Russia only now
    tab.locator("#timeline-svg a").filter(has_text="AS2").click()
    tab.wait_for_url("**/search?**probe_asn=AS2**")
    assert tab.locator("table.list tbody tr").count() > 10
    _no_csp_violations(tab)


def test_marks_lead_to_the_register_and_the_document(page: Watched) -> None:
    tab = _open(page, "/target?t=news.example")
    tab.locator("#timeline-svg polygon.tl-added").click()
    tab.wait_for_url("**/register?t=news.example&date=2024-02-29")
    assert "27-31-2024/Ид1" in tab.locator("#lookup").text_content()
    tab.go_back()
    tab.locator("#timeline-svg rect.tl-document").click()
    tab.wait_for_url("**/archive/doc/**")
    assert "Order on news.example" in tab.locator("main").text_content()
    _no_csp_violations(tab)


def test_home_lists_events_linking_to_the_timeline(page: Watched) -> None:
    tab = _open(page, "/")
    table = tab.locator("#events-table")
    table.wait_for(state="visible")
    assert table.locator("tbody tr").count() == 3
    assert table.locator("text=ongoing").count() == 2
    table.locator("a").filter(has_text="news.example").first.click()
    tab.wait_for_url("**/target?t=news.example**")
    tab.locator("#timeline-svg").wait_for(state="visible")
    _no_csp_violations(tab)
    page.shot("home-events")


def test_register_page_shows_latency(page: Watched) -> None:
    tab = _open(page, "/register")
    table = tab.locator("#latency-table")
    table.wait_for(state="visible")
    assert table.locator("tbody tr").count() == 2
    assert "stopped updating in March 2024" in tab.locator("#latency").text_content()
    _no_csp_violations(tab)
    page.shot("register-latency")
