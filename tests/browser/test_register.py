"""The register page in chromium: look-up form, snapshot comparison, links from the changes to a
look-up, the target page's register section, and a hostile decision number shown as text."""

from __future__ import annotations

import pytest

from tests.browser.conftest import HOSTILE_DECISION, Site, Watched

pytestmark = pytest.mark.browser


def test_register_page_lookup_and_changes(page: Watched, site: Site) -> None:
    page.goto("/register")
    assert "register of blocked resources" in page.page.locator("h1").inner_text()
    assert page.page.locator("#snapshots tbody tr").count() == 2
    lead = page.page.locator("#changes .lead").inner_text()
    assert "1 added" in lead and "1 changed" in lead
    changed = page.page.locator("#diff-changed tbody tr").first.inner_text()
    assert "+104.244.42.2" in changed
    page.shot("register")
    # The look-up form: a subdomain is covered by the wildcard order.
    page.page.fill('#register-lookup input[name="t"]', "www.bbc.com")
    page.page.click("#register-lookup button")
    page.page.wait_for_url("**t=www.bbc.com**")
    row = page.page.locator("#lookup tbody tr").first.inner_text()
    assert "wildcard" in row and "27-31-2022/Ид1" in row
    # An order shown as it was written, never run.
    page.page.fill('#register-lookup input[name="t"]', "twitter.com")
    page.page.click("#register-lookup button")
    page.page.wait_for_url("**t=twitter.com**")
    assert HOSTILE_DECISION in page.page.locator("#lookup").inner_text()
    assert page.page.evaluate("window.__pwned") is None
    page.shot("register-lookup")
    # Each added entry links to its look-up.
    page.page.locator("#diff-added tbody a").first.click()
    page.page.wait_for_url("**/register?t=facebook.com**")
    assert "facebook.com in the register" in page.page.locator("#lookup h2").inner_text()


def test_target_page_shows_the_orders(page: Watched, site: Site) -> None:
    page.goto("/target?t=twitter.com")
    section = page.page.locator("#register").inner_text()
    assert "Генпрокуратура" in section and HOSTILE_DECISION in section
    assert page.page.evaluate("window.__pwned") is None
    page.page.locator("nav >> text=Register (RU)").click()
    page.page.wait_for_url("**/register")
