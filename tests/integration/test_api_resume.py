"""An API ingest that stops early (the API gives up, Ctrl-C, `kill`) keeps every measurement it
fetched, and the same command run again fetches only what the store does not hold: a day of a
large country is tens of thousands of round trips at OONI's rate limit."""

from __future__ import annotations

import gzip
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from censorwatch.sources.ingest import ingest_files, ingest_records
from censorwatch.sources.ooni_api import ApiError, ApiQuery, OoniApi, api_records
from censorwatch.store import Store
from tests.integration.test_ingest_uids import raw_line
from tests.integration.test_ooni_api import FakeOoni, _cli, _stored, _synthetic

pytestmark = pytest.mark.integration


def _api(fake: FakeOoni) -> OoniApi:
    return OoniApi(fake.url, requests_per_second=0, retries=0, backoff=0.01, sleep=lambda _: None)


def test_a_second_run_fetches_only_what_is_new(tmp_path: Path) -> None:
    pages, bodies = _synthetic(40, 100)
    first = [pages[0][:25]]
    with FakeOoni(first, bodies, set()) as fake:
        done = _cli(fake.url, tmp_path / "s.duckdb")
    assert done.returncode == 0, done.stderr
    assert _stored(tmp_path / "s.duckdb") == 25
    # The same period later holds 15 more (OONI's list grows as uploads arrive).
    with FakeOoni(pages, bodies, set()) as fake:
        done = _cli(fake.url, tmp_path / "s.duckdb")
    assert done.returncode == 0, done.stderr
    assert sum(fake.hits.values()) == 15
    assert set(fake.hits) == {item["measurement_uid"] for item in pages[0][25:]}
    assert ("read 40 records: stored 15, already stored 25 (25 of them not fetched "
            "again), skipped 0") in done.stderr
    assert _stored(tmp_path / "s.duckdb") == 40


def test_uids_known_as_aliases_are_not_fetched_again(tmp_path: Path) -> None:
    # A raw file first: its rows are under the uids their lines derive. The first API run has to
    # fetch each (nothing else tells OONI's uid of a line), learns OONI's uids as aliases, and a
    # second run fetches none.
    lines = [raw_line(i, "web_connectivity", "RU") for i in range(6)]
    raw = tmp_path / "2024030100_RU_webconnectivity.n0.0.jsonl.gz"
    raw.write_bytes(gzip.compress("\n".join(lines).encode()))
    items = [{"measurement_uid": f"20240301000000.{i:06d}_RU_webconnectivity_{i:016x}"} for i in range(6)]
    bodies = {item["measurement_uid"]: line for item, line in zip(items, lines, strict=True)}
    query = ApiQuery("RU", "2024-03-01", "2024-03-02")
    with FakeOoni([items], bodies, set()) as fake, Store(tmp_path / "s.duckdb") as store:
        assert ingest_files(store, [raw]).stored == 6
        first = ingest_records(store, api_records(_api(fake), query, held=store.held_uids))
        assert (first.stored, first.duplicates, first.not_fetched) == (0, 6, 0)
        assert sum(fake.hits.values()) == 6
        second = ingest_records(store, api_records(_api(fake), query, held=store.held_uids))
        assert (second.read, second.stored, second.duplicates, second.not_fetched) == (6, 0, 6, 6)
        assert sum(fake.hits.values()) == 6  # none fetched the second time


def test_an_api_that_goes_down_midway_loses_nothing_fetched(tmp_path: Path) -> None:
    pages, bodies = _synthetic(30, 10)
    query = ApiQuery("RU", "2026-11-01", "2026-11-02", page_size=10)
    with FakeOoni(pages, bodies, set(), list_down_from=20) as fake, Store(tmp_path / "s.duckdb") as store:
        with pytest.raises(ApiError, match="HTTP 503"):
            # Batches of 2,000: without the flush on the way out, the 20 fetched would be lost.
            ingest_records(store, api_records(_api(fake), query, held=store.held_uids))
        assert store.con.execute("SELECT count(*) FROM measurements").fetchone() == (20,)
    with FakeOoni(pages, bodies, set()) as fake, Store(tmp_path / "s.duckdb") as store:
        again = ingest_records(store, api_records(_api(fake), query, held=store.held_uids))
        assert (again.stored, again.not_fetched) == (10, 20)
        assert sum(fake.hits.values()) == 10


def test_cli_says_how_to_go_on_when_the_api_gives_up(tmp_path: Path) -> None:
    pages, bodies = _synthetic(150, 100)
    with FakeOoni(pages, bodies, set(), list_down_from=100) as fake:
        done = _cli(fake.url, tmp_path / "s.duckdb")
    said = " ".join(done.stderr.split())  # the error is wrapped to the console's width
    assert done.returncode == 2
    assert "read 100 records: stored 100" in said
    assert "failed after 1 attempts (HTTP 503)" in said
    assert "run the same command again to go on" in said
    assert "Traceback" not in said
    assert _stored(tmp_path / "s.duckdb") == 100


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT])
def test_a_killed_run_keeps_what_it_fetched_and_resumes(tmp_path: Path, how: signal.Signals) -> None:
    total = 400
    pages, bodies = _synthetic(total, 100)
    db = tmp_path / "s.duckdb"
    with FakeOoni(pages, bodies, set(), raw_delay=0.005) as fake:
        child = subprocess.Popen(
            [sys.executable, "-m", "censorwatch", "ingest", "ooni", "--from-api", "--probe-cc", "RU", "--since",
             "2026-11-01", "--until", "2026-11-03", "--api-url", fake.url, "--rate", "0", "--db", str(db)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        deadline = time.monotonic() + 60
        # Past one stored batch of 100 and partway into the next.
        while sum(fake.hits.values()) < 150 and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.01)
        child.send_signal(how)
        _, stderr = child.communicate(timeout=60)
        fetched = sum(fake.hits.values())
    said = " ".join(stderr.split())
    assert child.returncode == 130, stderr
    assert "interrupted; what was fetched is stored" in said and "Traceback" not in said
    stored = _stored(db)
    assert 150 <= fetched < total
    # Every measurement fetched is stored, but for one whose answer the signal cut short.
    assert fetched - 1 <= stored <= fetched
    with FakeOoni(pages, bodies, set()) as fake:
        done = _cli(fake.url, db)
    assert done.returncode == 0, done.stderr
    assert sum(fake.hits.values()) == total - stored
    assert _stored(db) == total
