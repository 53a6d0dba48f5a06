"""One measurement fetched from OONI's API and read from a raw file is stored once, in either
order. OONI's /api/v1/raw_measurement answers the measurement's line from the raw file itself
(ooni/backend routers/v1/measurements.py, _fetch_jsonl_measurement_body_from_s3), so the uid its
JSON derives is the one the raw file's line gets; the row keeps the uid of the source that came
first, and the other becomes an alias (store/schema.py CREATE_UID_ALIASES) that finds it."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import httpx
import pytest

from censorwatch.distributed.process import process_single
from censorwatch.model.measurement import derived_uid
from censorwatch.sources.ingest import IngestStats, ingest_files, ingest_records
from censorwatch.sources.ooni_api import ApiQuery, OoniApi, api_records
from censorwatch.sources.parquet import load_parquet
from censorwatch.store import Store
from censorwatch.web.queries import measurement as stored_measurement
from tests.integration.test_api_serve import serve
from tests.integration.test_ingest_uids import raw_line
from tests.integration.test_ooni_api import FakeOoni

pytestmark = pytest.mark.integration

N = 12


@pytest.fixture
def sources(tmp_path: Path) -> tuple[Path, list[list[dict[str, str]]], dict[str, str]]:
    """A raw-layout tree of N lines without uids, and OONI's API pages and bodies for the same
    lines under OONI's uids."""
    lines = [raw_line(i, "web_connectivity", "RU") for i in range(N)]
    folder = tmp_path / "raw" / "20240301" / "00" / "RU" / "webconnectivity"
    folder.mkdir(parents=True)
    (folder / "2024030100_RU_webconnectivity.n0.0.jsonl.gz").write_bytes(gzip.compress("\n".join(lines).encode()))
    items, bodies = [], {}
    for i, line in enumerate(lines):
        uid = f"20240301000{i % 10}00.{i:06d}_RU_webconnectivity_{i:016x}"
        items.append({"measurement_uid": uid, "probe_cc": "RU", "test_name": "web_connectivity"})
        bodies[uid] = line
    return tmp_path / "raw", [items], bodies


def _from_api(store: Store, fake: FakeOoni) -> IngestStats:
    api = OoniApi(fake.url, requests_per_second=0, backoff=0.01, sleep=lambda _: None)
    return ingest_records(store, api_records(api, ApiQuery("RU", "2024-03-01", "2024-03-02", page_size=50)))


def _uids(store: Store) -> set[str]:
    return {row[0] for row in store.con.execute("SELECT measurement_uid FROM measurements").fetchall()}


def _derived(bodies: dict[str, str]) -> dict[str, str]:
    """OONI's uid -> the uid its line derives."""
    return {uid: derived_uid(json.loads(body), body.encode()) for uid, body in bodies.items()}


def test_api_first_then_the_raw_file(sources: tuple[Path, list[list[dict[str, str]]], dict[str, str]],
                                     tmp_path: Path) -> None:
    raw, pages, bodies = sources
    with FakeOoni(pages, bodies, set()) as fake, Store(tmp_path / "s.duckdb") as store:
        assert _from_api(store, fake).stored == N
        again = ingest_files(store, [raw])
        assert (again.read, again.stored, again.duplicates) == (N, 0, N)
        assert _uids(store) == set(bodies)  # OONI's uids, the first source's
        derived = _derived(bodies)
        for ooni_uid, uid in derived.items():
            assert store.resolve_uid(uid) == ooni_uid
            found = stored_measurement(store.con, uid)
            assert found is not None and found["measurement_uid"] == ooni_uid
        # The API again: nothing new either.
        assert _from_api(store, fake).stored == 0


def test_the_raw_file_first_then_the_api(sources: tuple[Path, list[list[dict[str, str]]], dict[str, str]],
                                         tmp_path: Path) -> None:
    raw, pages, bodies = sources
    db = tmp_path / "s.duckdb"
    derived = _derived(bodies)
    with FakeOoni(pages, bodies, set()) as fake, Store(db) as store:
        assert ingest_files(store, [raw]).stored == N
        later = _from_api(store, fake)
        assert (later.read, later.stored, later.duplicates) == (N, 0, N)
        assert _uids(store) == set(derived.values())  # the raw file's uids, the first source's
        assert ingest_files(store, [raw]).stored == 0
        assert _from_api(store, fake).stored == 0
    # OONI's uid finds the measurement in the JSON API too.
    ooni_uid = sorted(bodies)[0]
    with serve(db) as base:
        answer = httpx.get(f"{base}/api/v1/measurements/{ooni_uid}", timeout=10)
    assert answer.status_code == 200
    assert answer.json()["measurement_uid"] == derived[ooni_uid]


def test_parts_of_the_raw_file_after_the_api(sources: tuple[Path, list[list[dict[str, str]]], dict[str, str]],
                                             tmp_path: Path) -> None:
    raw, pages, bodies = sources
    process_single(raw, tmp_path / "parts")
    with FakeOoni(pages, bodies, set()) as fake, Store(tmp_path / "s.duckdb") as store:
        assert _from_api(store, fake).stored == N
        loaded = load_parquet(store, tmp_path / "parts")
        assert (loaded.rows, loaded.stored, loaded.duplicates) == (N, 0, N)
        assert _uids(store) == set(bodies)


def test_a_body_serialised_otherwise_is_a_second_copy(
    sources: tuple[Path, list[list[dict[str, str]]], dict[str, str]], tmp_path: Path
) -> None:
    """OONI re-serialises measurements less than an hour old (not yet in a raw file): the uid
    their bytes derive differs from the raw file's, and both are stored (docs/ingest.md)."""
    raw, pages, bodies = sources
    pretty = {uid: json.dumps(json.loads(body), indent=1) for uid, body in bodies.items()}
    with FakeOoni(pages, pretty, set()) as fake, Store(tmp_path / "s.duckdb") as store:
        assert _from_api(store, fake).stored == N
        assert ingest_files(store, [raw]).stored == N
        assert store.count() == 2 * N
