"""The messengers and circumvention table and a telegram measurement's steps in Debian's
chromium: the table is visible with its statuses (blocked, reachable, not measured, each
styled from the stylesheet), its link opens the newest measurement, whose steps are visible; a
hostile measurement runs no script; nothing leaves loopback and nothing violates the CSP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import duckdb
import pytest

from censorwatch.web.server import BackgroundServer
from tests.browser.conftest import Site, Watched
from tests.browser.test_timeline import WATCH_CSP
from tests.integration.test_web_apps import DCS, REAL, T0, hostile, telegram, uid_of
from tests.integration.timeline_store import invoke

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Overrides the conftest's site for this module: the conftest's `page` then serves this one."""
    folder = tmp_path_factory.mktemp("apps-browser")
    db = folder / "store.duckdb"
    lines = {
        "old": json.dumps(telegram("AS1", "First", T0, True)),
        "blocked": json.dumps(telegram("AS1", "First", T0 + timedelta(days=2), False)),
        "reachable": json.dumps(telegram("AS2", "Second", T0 + timedelta(days=1), True)),
        "hostile": json.dumps(hostile(T0 + timedelta(days=3))),
    }
    if REAL.is_dir():
        lines["real"] = json.dumps(json.loads((REAL / "telegram_nourl.json").read_text(encoding="utf-8")))
    jsonl = folder / "m.jsonl"
    jsonl.write_text("\n".join(lines.values()) + "\n", encoding="utf-8")
    invoke("ingest", "ooni", str(jsonl), "--db", str(db))
    with duckdb.connect(str(db), read_only=True) as con:
        uids = {name: uid_of(con, line) for name, line in lines.items()}
    with BackgroundServer(db) as server:
        yield Site(server.url, db, uids["hostile"], uids)


def _open(page: Watched, path: str) -> Any:
    page.page.add_init_script(WATCH_CSP + " window.__pwned = 0;")
    response = page.goto(path)
    assert response.status == 200
    return page.page


def test_country_table_and_telegram_steps(page: Watched, site: Site) -> None:
    tab = _open(page, "/country/RU")
    table = tab.locator("#apps-table")
    table.wait_for(state="visible")
    telegram_rows = tab.locator('tbody[data-test="telegram"] tr.net-row')
    assert telegram_rows.count() == 3  # AS1, AS2 and the hostile AS666
    blocked = tab.locator('tbody[data-test="telegram"] tr[data-asn="AS1"]')
    assert blocked.locator(".a-status").inner_text() == "Blocked"
    assert "Connection blocked" in blocked.inner_text()
    # Styled by the stylesheet (CSP allows no inline style): blocked is red, not measured outlined.
    assert blocked.locator(".a-status").evaluate("e => getComputedStyle(e).backgroundColor") != "rgba(0, 0, 0, 0)"
    reachable = tab.locator('tbody[data-test="telegram"] tr[data-asn="AS2"] .a-status')
    assert reachable.inner_text() == "Reachable" and reachable.is_visible()
    missing = tab.locator('tbody[data-test="whatsapp"] .a-status')
    assert missing.inner_text() == "Not measured" and missing.is_visible()
    assert missing.evaluate("e => getComputedStyle(e).borderTopStyle") == "dashed"
    assert tab.locator("tbody.app").count() == 13
    page.shot("country-apps")
    assert tab.evaluate("window.__pwned") == 0

    blocked.locator("a.details").click()
    tab.wait_for_url(f"**/measurement/{site.uids['blocked']}")
    steps = tab.locator("#steps")
    steps.wait_for(state="visible")
    tcp = steps.locator("table.steps-tcp tbody tr")
    assert tcp.count() == 2 * len(DCS)
    assert all("generic_timeout_error" in tcp.nth(i).inner_text() for i in range(tcp.count()))
    assert steps.locator("table.steps-http").is_visible()
    assert "Telegram data centres blocked (TCP)" in tab.locator("#app-facts").inner_text()
    page.shot("measurement-telegram-steps")
    assert tab.evaluate("window.__csp") == []


def test_hostile_app_measurement_runs_nothing(page: Watched, site: Site) -> None:
    tab = _open(page, f"/measurement/{site.hostile_uid}")
    tab.locator("#steps").wait_for(state="visible")
    assert "<script>" in tab.locator("#steps").inner_text()  # shown as text
    assert tab.evaluate("window.__pwned") == 0
    assert tab.evaluate("window.__csp") == []


def test_real_telegram_measurement_steps(page: Watched, site: Site) -> None:
    if "real" not in site.uids:
        pytest.skip("../shared/data/ooni/measurements is absent")
    tab = _open(page, f"/measurement/{site.uids['real']}")
    steps = tab.locator("#steps")
    steps.wait_for(state="visible")
    assert steps.locator("table.steps-tcp tbody tr").count() == 12
    tab.goto(site.url + "/country/IT")
    row = tab.locator('tbody[data-test="telegram"] tr[data-asn="AS30722"]')
    assert row.locator(".a-status").inner_text() == "Reachable"
    page.shot("measurement-telegram-real")
