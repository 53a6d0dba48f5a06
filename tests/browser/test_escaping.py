"""No measurement can run script in the explorer: hostile input, title, body and headers are
shown literally, and the Content-Security-Policy forbids inline script anyway."""

from __future__ import annotations

import pytest

from tests.browser.conftest import HOSTILE_HEADER, HOSTILE_INPUT, Site, Watched

pytestmark = pytest.mark.browser


def test_hostile_measurement_is_text(page: Watched, site: Site) -> None:
    response = page.goto(f"/measurement/{site.hostile_uid}")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.page.wait_for_timeout(300)  # let any onerror/onload fire if it could
    assert page.page.evaluate("window.__pwned") is None
    assert page.page.locator("#m-input").inner_text() == HOSTILE_INPUT
    assert "<script>window.__pwned=1</script>" in page.page.locator("#body").inner_text()
    assert HOSTILE_HEADER in page.page.locator("#headers").inner_text()
    assert page.page.locator("img").count() == 0
    assert page.page.locator("main script").count() == 0
    page.shot("measurement-hostile")


def test_hostile_rows_in_lists(page: Watched, site: Site) -> None:
    page.goto("/search?probe_cc=IR&domain=evil.example")
    page.page.wait_for_timeout(300)
    assert page.page.evaluate("window.__pwned") is None
    assert page.page.locator("table.list tbody tr").count() == 1
    assert page.page.locator("img").count() == 0
    page.goto("/target?t=evil.example")
    page.page.wait_for_timeout(200)
    assert page.page.evaluate("window.__pwned") is None
