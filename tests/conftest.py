from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from censorwatch.analysis.compiled_cache import CACHE_ENV

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """../shared/data beside the clone; tests that need it skip cleanly when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    return tmp_path / "store.duckdb"


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Compiled pattern databases (analysis/compiled_cache.py) go to a directory of this run,
    not the user's ~/.cache; processes the tests start (CLI runs, Dask workers) inherit it."""
    directory = tmp_path_factory.mktemp("cache")
    before = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(directory)
    yield directory
    if before is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = before


@pytest.fixture(scope="session", autouse=True)
def probe_consent_and_loopback_defaults(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`censorwatch probe` refuses to measure without recorded consent (probe/consent.py): the
    session's own config dir has it, so every probe the tests run (CliRunner or subprocess, which
    inherit the environment) may measure. The probe's public defaults (OONI's test helpers and
    collector, STUN servers, the geoip database) point at a closed loopback port and a missing
    file, so a test that forgets an option fails on loopback instead of reaching the internet."""
    from censorwatch.probe.consent import record_consent

    config_home = tmp_path_factory.mktemp("config")
    dead = "http://127.0.0.1:9"  # discard port: nothing listens
    overrides = {
        "XDG_CONFIG_HOME": str(config_home),
        "CENSORWATCH_TEST_HELPERS": dead,
        "CENSORWATCH_OONI_COLLECTOR": dead,
        "CENSORWATCH_STUN_SERVERS": "127.0.0.1:9",
        "CENSORWATCH_GEOIP_DB": str(config_home / "no-geoip-database"),
    }
    before = {name: os.environ.get(name) for name in overrides}
    os.environ.update(overrides)
    record_consent("tests")
    yield config_home
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
