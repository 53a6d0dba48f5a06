"""Browser tests: a real DuckDB store in a temporary directory, the explorer served by uvicorn
on 127.0.0.1, and Debian's chromium driven by Playwright. Every request to a host other than
the loopback server is blocked and recorded, so a test can assert that nothing was attempted."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from censorwatch.sources.registry_ingest import ingest_files
from censorwatch.store.database import Store
from censorwatch.web import demo
from censorwatch.web.aggregates import refresh_aggregates
from censorwatch.web.server import BackgroundServer
from tests.conftest import SHARED_DATA

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
PWNED = "window.__pwned=1"
HOSTILE_INPUT = f'https://evil.example/"><img src=x onerror="{PWNED}"><script>{PWNED}</script>'
HOSTILE_TITLE = f"<script>{PWNED}</script>Blocked"
HOSTILE_BODY = f'<html><head><title>{HOSTILE_TITLE}</title></head><body>"><img src=x onerror="{PWNED}"></body></html>'
HOSTILE_HEADER = f'"><svg onload="{PWNED}">'


def hostile_measurement() -> dict[str, Any]:
    """A blockpage whose every field tries to run script in the page that shows it."""
    m = demo.web_measurement("http://evil.example/", "IR", "AS58224", f'<b onmouseover="{PWNED}">Net</b>',
                             demo.END, "http_blockpage")
    m["input"] = HOSTILE_INPUT
    response = m["test_keys"]["requests"][0]["response"]
    response["body"] = HOSTILE_BODY
    response["headers"]["X-Evil"] = HOSTILE_HEADER
    m["test_keys"]["requests"][0]["request"]["url"] = HOSTILE_INPUT
    return m


@dataclass
class Site:
    url: str
    db: Path
    hostile_uid: str
    uids: dict[str, str]  # name -> what LOOKUPS found (mostly measurement uids the tests open)


# Looked up before the server opens the store (one process cannot open a DuckDB file twice
# with different settings).
LOOKUPS = {
    "blockpage": "SELECT measurement_uid FROM measurements WHERE source = 'demo' AND input LIKE '%bbc%' "
                 "AND probe_cc = 'IR' AND verdict = 'confirmed' AND blocking = 'http-diff' "
                 "ORDER BY measurement_start_time DESC LIMIT 1",
    # The filters the search test uses: the country and blocking type seen most often (what the
    # analysis concludes is its business; the test needs more than one page of them).
    "busiest_blocking": "SELECT probe_cc || ' ' || blocking FROM measurements WHERE blocking IS NOT NULL "
                        "GROUP BY probe_cc, blocking HAVING count(*) > 60 ORDER BY count(*) DESC LIMIT 1",
    "real_app": "SELECT measurement_uid FROM measurements WHERE source = 'ooni' AND test_name = 'telegram' LIMIT 1",
    "real_ir": "SELECT measurement_uid FROM measurements WHERE source = 'ooni' AND probe_cc = 'IR' "
               "AND test_name = 'web_connectivity' LIMIT 1",
}


HOSTILE_DECISION = f'<img src=x onerror="{PWNED}">'
REGISTER_WEEKS = (
    ("2022-03-01", [f"104.244.42.1;twitter.com;;Генпрокуратура;{HOSTILE_DECISION};2022-02-24",
                    "185.1.1.1;*.bbc.com;;Генпрокуратура;27-31-2022/Ид1;2022-03-04"]),
    ("2022-03-08", [f"104.244.42.1 | 104.244.42.2;twitter.com;;Генпрокуратура;{HOSTILE_DECISION};2022-02-24",
                    "185.1.1.1;*.bbc.com;;Генпрокуратура;27-31-2022/Ид1;2022-03-04",
                    "157.240.1.1;facebook.com;;Генпрокуратура;27-31-2022/Ид2;2022-03-04"]),
)


def add_register(db: Path, folder: Path) -> None:
    """Two register snapshots, written as z-i dumps and read by the real ingest."""
    paths = []
    for day, lines in REGISTER_WEEKS:
        path = folder / f"dump-{day}.csv"
        path.write_bytes(("\n".join([f"Updated: {day} 06:00:00 +0000", *lines]) + "\n").encode("cp1251"))
        paths.append(path)
    with Store(db) as store:
        ingest_files(store.con, paths, None, False)


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("web")
    db = folder / "store.duckdb"
    hostile = demo.record(hostile_measurement(), "http_blockpage")
    with Store(db) as store:
        store.add(demo.synthetic())
        if SHARED_DATA.is_dir():
            store.add(demo.real(SHARED_DATA / "ooni" / "measurements"))
        store.add([hostile])
        refresh_aggregates(store.con)
        uids = {}
        for name, sql in LOOKUPS.items():
            row = store.con.execute(sql).fetchone()
            if row:
                uids[name] = row[0]
    add_register(db, folder)
    with BackgroundServer(db) as server:
        yield Site(server.url, db, hostile.meta.measurement_uid, uids)


# Package scope: a sync Playwright keeps an event loop running in this thread until it stops,
# which would break asyncio.run() in every test collected after the browser tests.
@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class Watched:
    page: Any
    base: str
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    def goto(self, path: str) -> Any:
        response = self.page.goto(self.base + path)
        assert response is not None
        return response

    def shot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def page(browser: Any, site: Site) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    watched = Watched(page, site.url)
    def route(route: Any) -> None:
        # Loopback only (the tests' servers); anything else is aborted and recorded.
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            watched.blocked.append(route.request.url)
            route.abort()

    context.route("**/*", route)
    page.on("console", lambda msg: watched.console_errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: watched.page_errors.append(str(error)))

    def on_dialog(dialog: Any) -> None:
        watched.dialogs.append(dialog.message)
        with contextlib.suppress(Exception):
            dialog.dismiss()

    page.on("dialog", on_dialog)
    yield watched
    context.close()
    assert watched.blocked == [], f"requests to other hosts: {watched.blocked}"
    assert watched.console_errors == [], f"console errors: {watched.console_errors}"
    assert watched.page_errors == [], f"page errors: {watched.page_errors}"
    assert watched.dialogs == [], f"dialogs opened: {watched.dialogs}"
