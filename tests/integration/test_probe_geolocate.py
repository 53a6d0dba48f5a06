"""Country and network found automatically, the address forgotten: a STUN server on 127.0.0.1
answers with 198.51.100.7 (documentation range: only a value in a packet), a database the test
builds with `censorwatch geoip update FILE` maps it to DE / AS64500, and the address must appear
in no output, log, store, config or data file."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from censorwatch.probe.geoip_db import DB_ENV
from censorwatch.probe.public_services import STUN_SERVERS_ENV
from censorwatch.services.test_helper import BackgroundTestHelper, HelperConfig
from censorwatch.store import Store
from tests.integration.hostile_servers import Servers, ok
from tests.stun_server import StunServer

pytestmark = pytest.mark.integration
ADDRESS = "198.51.100.7"
TSV = ("198.51.100.0\t198.51.100.255\t64500\tDE\tEXAMPLE-NET\n"
       "203.0.113.0\t203.0.113.255\t64501\tFR\tOTHER-NET\n")


@dataclass
class Env:
    root: Path
    vars: dict[str, str]
    target: str
    helper: str
    stun: StunServer

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([sys.executable, "-m", "censorwatch", *args], capture_output=True, text=True,
                              timeout=120, env=self.vars)
        (self.root / "logs").mkdir(exist_ok=True)
        with open(self.root / "logs" / "captured.txt", "a") as log:  # grepped with the rest
            log.write(done.stdout + done.stderr)
        return done

    def probe(self, name: str, *args: str) -> dict[str, Any]:
        output = self.root / "out" / f"{name}.jsonl"
        done = self.run("probe", self.target, "--test-helper", self.helper, "--timeout", "2",
                        "--output", str(output), "--db", str(self.root / "data" / "store.duckdb"), *args)
        assert done.returncode == 0, done.stderr
        [measurement] = [json.loads(line) for line in output.read_text().splitlines()]
        assert isinstance(measurement, dict)
        measurement["_stderr"] = done.stderr
        return measurement


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    variables = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_DATA_HOME": str(tmp_path / "data")}
    variables.pop(DB_ENV)  # the default place in the data dir
    source = tmp_path / "ip2asn-combined.tsv.gz"
    source.write_bytes(gzip.compress(TSV.encode()))
    with Servers({"ok": ok}) as servers, BackgroundTestHelper(HelperConfig(loopback_only=True)) as helper, \
            StunServer(ADDRESS) as stun:
        ready = Env(tmp_path, variables, servers.url("ok"), helper.url, stun)
        assert ready.run("onboard", "--yes").returncode == 0
        installed = ready.run("geoip", "update", str(source))
        assert installed.returncode == 0, installed.stderr
        assert (tmp_path / "data" / "censorwatch" / "geoip" / "ip2asn.cwgeo").is_file()
        yield ready
    _assert_address_nowhere(tmp_path)


def _assert_address_nowhere(root: Path) -> None:
    """Every file the runs wrote: outputs, logs, the DuckDB store, the config and data dirs."""
    checked = 0
    for path in root.rglob("*"):
        if path.is_file() and path.suffix != ".gz":  # the test's own source file holds the range, not the address
            assert ADDRESS.encode() not in path.read_bytes(), path
            checked += 1
    assert checked >= 4
    store = root / "data" / "store.duckdb"
    if store.exists():  # DuckDB may compress strings: read the stored rows back too
        with Store(store, read_only=True) as opened:
            for row in opened.iter_measurements():
                assert ADDRESS not in json.dumps(row, default=str)


def test_geolocated_and_address_forgotten(env: Env) -> None:
    measurement = env.probe("located", "--stun", env.stun.address, "--resolver", "127.0.0.1:53")
    assert (measurement["probe_cc"], measurement["probe_asn"], measurement["probe_network_name"]) == \
        ("DE", "AS64500", "EXAMPLE-NET")
    assert measurement["probe_ip"] == "127.0.0.1"
    # A loopback resolver has no network of its own (tests/unit/test_probe_resolver_network.py: a public one).
    assert (measurement["resolver_asn"], measurement["resolver_ip"]) == ("AS0", "127.0.0.1")
    assert "_DE_64500_" in measurement["report_id"]
    assert env.stun.requests == 1


def test_stun_list_falls_back_to_the_next_server(env: Env) -> None:
    with StunServer(ADDRESS, silent=True) as dead:
        env.vars[STUN_SERVERS_ENV] = f"{dead.address},{env.stun.address}"
        measurement = env.probe("fallback")
    assert dead.requests >= 1 and env.stun.requests == 1
    assert measurement["probe_asn"] == "AS64500"


def test_options_override_and_opt_out(env: Env) -> None:
    assert env.probe("off", "--no-geolocate", "--stun", env.stun.address)["probe_asn"] == "AS0"
    given = env.probe("given", "--probe-cc", "fr", "--probe-asn", "1", "--stun", env.stun.address)
    assert (given["probe_cc"], given["probe_asn"], given["probe_network_name"]) == ("FR", "AS1", None)
    assert env.stun.requests == 0  # neither asked for the address
    cc_only = env.probe("cc-only", "--probe-cc", "RU", "--stun", env.stun.address)
    assert (cc_only["probe_cc"], cc_only["probe_asn"], cc_only["probe_network_name"]) == ("RU", "AS64500",
                                                                                          "EXAMPLE-NET")


def test_without_a_database_say_so_once_and_withhold(env: Env) -> None:
    env.vars[DB_ENV] = str(env.root / "data" / "none.cwgeo")
    measurement = env.probe("no-db", "--stun", env.stun.address)
    assert (measurement["probe_cc"], measurement["probe_asn"]) == ("ZZ", "AS0")
    assert measurement["_stderr"].count("no geoip database") == 1
    assert "censorwatch geoip update" in measurement["_stderr"]
    assert env.stun.requests == 0


def test_geoip_update_refuses_what_is_not_a_database(env: Env, tmp_path: Path) -> None:
    bad = tmp_path / "bad.tsv"
    bad.write_text("<html>not found</html>\n")
    done = env.run("geoip", "update", str(bad), "--geoip-db", str(tmp_path / "other.cwgeo"))
    assert done.returncode == 2 and "no usable rows" in done.stderr
    assert not (tmp_path / "other.cwgeo").exists()
    info = env.run("geoip", "info")
    assert info.returncode == 0 and "2 ranges" in info.stdout and "PDDL" in info.stdout
