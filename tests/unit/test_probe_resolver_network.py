"""resolver_asn / resolver_network_name: the network of the resolver the probe queries, from the local geoip
database, when its address is public and the probe's own network is recorded; never the resolver's address.
No query is sent here: the addresses are only looked up in a database the test builds."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import pytest

from censorwatch.model.measurement import SCRUBBED_IP
from censorwatch.probe import geolocation
from censorwatch.probe.config import ProbeConfig
from censorwatch.probe.experiment import ExperimentContext, new_measurement
from censorwatch.probe.geoip_db import DB_ENV, Network, build, open_source, parse_ip2asn
from censorwatch.probe.geolocation import resolver_network

TSV = ("1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET\n"
       "9.9.9.0\t9.9.9.255\t19281\tCH\tQUAD9-AS-1\n")
CLOUDFLARE = Network("US", "AS13335", "CLOUDFLARENET")


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "geo.cwgeo"
    build(parse_ip2asn(open_source(gzip.compress(TSV.encode()))), path, "test")
    monkeypatch.setenv(DB_ENV, str(path))
    return path


@pytest.mark.parametrize(
    ("resolver", "expected"),
    [
        (("1.0.0.1", 53), CLOUDFLARE),
        (("127.0.0.1", 5353), None),  # loopback (the lab, a local stub): no network of its own
        (("127.0.0.53", 53), None),  # systemd-resolved
        (("192.168.1.1", 53), None),  # a home router
        (("::1", 53), None),
        (("8.8.8.8", 53), None),  # public, in no range of this database
    ],
)
def test_public_resolvers_only(db: Path, resolver: tuple[str, int], expected: Network | None) -> None:
    assert resolver_network(resolver, db) == expected


def test_the_system_resolver_when_none_is_given(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(geolocation, "system_resolver", lambda: ("9.9.9.9", 53))
    assert resolver_network(None, db) == Network("CH", "AS19281", "QUAD9-AS-1")

    def unconfigured() -> tuple[str, int]:
        raise OSError("no system resolver configured")

    monkeypatch.setattr(geolocation, "system_resolver", unconfigured)
    assert resolver_network(None, db) is None


def test_no_database_no_network(tmp_path: Path) -> None:
    assert resolver_network(("1.0.0.1", 53), tmp_path / "missing.cwgeo") is None


def test_recorded_in_the_measurement_without_the_address(db: Path) -> None:
    config = ProbeConfig(resolver=("1.0.0.1", 53), probe_cc="US", probe_asn="AS64500")
    measurement = new_measurement("web_connectivity", "0.4.3", "https://example.org/",
                                  ExperimentContext(config, {}, "r"), datetime.now(UTC))
    assert (measurement["resolver_asn"], measurement["resolver_network_name"]) == ("AS13335", "CLOUDFLARENET")
    assert measurement["resolver_ip"] == SCRUBBED_IP
    assert "1.0.0.1" not in repr(measurement)


@pytest.mark.parametrize(
    "config",
    [
        ProbeConfig(resolver=("1.0.0.1", 53)),  # the probe's own network withheld (--no-geolocate, no database...)
        ProbeConfig(resolver=("127.0.0.1", 5353), probe_cc="DE", probe_asn="AS64500"),  # the lab's resolver
    ],
)
def test_as0_stays(db: Path, config: ProbeConfig) -> None:
    measurement = new_measurement("web_connectivity", "0.4.3", "https://example.org/",
                                  ExperimentContext(config, {}, "r"), datetime.now(UTC))
    assert (measurement["resolver_asn"], measurement["resolver_network_name"]) == ("AS0", None)
