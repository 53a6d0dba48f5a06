"""The country page's messengers and circumvention table (web/apps_table.py) on a real DuckDB
store: not measured, reachable, blocked with its type, failed, the newest measurement winning per
network, networks kept apart, countries and periods kept apart. Verdicts are set directly, so
these tests judge the query, not the analysers (tests/integration/test_web_apps.py does both)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest

from censorwatch.model.measurement import format_time, meta_of, new_report_id
from censorwatch.model.verdict import ANOMALY, CONFIRMED, FAILURE, OK, TCP_IP, TLS, Verdict
from censorwatch.store.database import Store
from censorwatch.store.measurement_rows import StoredMeasurement
from censorwatch.web.apps_table import APP_TEST_NAMES, apps_table, status_of

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def app_measurement(test_name: str, cc: str, asn: str, when: datetime, network: str | None = "Net",
                    nonce: int = 0) -> dict[str, Any]:
    return {
        "annotations": {}, "data_format_version": "0.2.0", "input": None,
        "measurement_start_time": format_time(when), "test_start_time": format_time(when),
        "probe_asn": asn, "probe_cc": cc, "probe_ip": "127.0.0.1", "probe_network_name": network,
        "report_id": new_report_id(test_name, cc, asn, when), "software_name": "censorwatch",
        "software_version": "0.1.0", "test_name": test_name, "test_version": "0.1.0", "test_runtime": 1.0,
        "test_keys": {"nonce": nonce},
    }


def row(test_name: str, cc: str, asn: str, when: datetime, verdict: Verdict, **kw: Any) -> StoredMeasurement:
    m = app_measurement(test_name, cc, asn, when, **kw)
    text = orjson.dumps(m)
    return StoredMeasurement(meta_of(m, text), text, verdict, "ooni")


OKV = Verdict(OK, None, "reached")
TCPV = Verdict(ANOMALY, TCP_IP, "every connect failed")
TLSV = Verdict(CONFIRMED, TLS, "reset at the handshake")
FAILV = Verdict(FAILURE, None, "nothing measured")

ROWS = [
    # telegram on two Russian networks: AS1 blocked now (was reachable), AS2 reachable now (was blocked)
    row("telegram", "RU", "AS1", T0, OKV),
    row("telegram", "RU", "AS1", T0 + timedelta(days=2), TCPV),
    row("telegram", "RU", "AS2", T0 + timedelta(days=3), TCPV, network="Second"),
    row("telegram", "RU", "AS2", T0 + timedelta(days=4), OKV, network="Second"),
    # signal: one failed measurement; tor: confirmed, no network name known
    row("signal", "RU", "AS1", T0, FAILV),
    row("vanilla_tor", "RU", "AS3", T0 + timedelta(days=1), TLSV, network=None),
    # a test we have no analysis for yet
    row("http3", "RU", "AS1", T0, Verdict(None, None, "not analysed")),
    # other countries and other tests must not leak in
    row("whatsapp", "IR", "AS9", T0, TCPV),
    row("web_connectivity", "RU", "AS1", T0 + timedelta(days=9), TCPV),
    # two measurements at one instant: the higher uid wins, whatever the scan order
    row("openvpn", "RU", "AS1", T0, OKV, nonce=1),
    row("openvpn", "RU", "AS1", T0, TCPV, nonce=2),
]


@pytest.fixture(scope="module")
def cur(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    db = tmp_path_factory.mktemp("apps") / "store.duckdb"
    with Store(db) as store:
        store.add(ROWS)
    con = duckdb.connect(str(db), read_only=True)
    yield con.cursor()
    con.close()


def by_test(table: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {entry["test_name"]: entry for entry in table}


def nets(entry: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {net["probe_asn"]: net for net in entry["networks"]}


def test_every_app_test_is_listed_and_unmeasured_ones_say_so(cur: duckdb.DuckDBPyConnection) -> None:
    table = apps_table(cur, "RU")
    assert [e["test_name"] for e in table] == list(APP_TEST_NAMES)
    t = by_test(table)
    for name in ("whatsapp", "facebook_messenger", "tor", "torsf", "psiphon", "riseupvpn", "dnscheck", "throttling"):
        assert t[name]["status"] == "not measured", name
        assert t[name]["networks"] == []
    assert "web_connectivity" not in t


def test_newest_measurement_wins_per_network(cur: duckdb.DuckDBPyConnection) -> None:
    telegram = nets(by_test(apps_table(cur, "RU"))["telegram"])
    assert set(telegram) == {"AS1", "AS2"}
    assert telegram["AS1"]["status"] == "blocked"
    assert telegram["AS1"]["blocking"] == "tcp_ip"
    assert telegram["AS1"]["last_time"] == "2025-03-03T12:00:00Z"
    assert telegram["AS1"]["measurements"] == 2
    assert telegram["AS2"]["status"] == "reachable"
    assert telegram["AS2"]["last_time"] == "2025-03-05T12:00:00Z"
    assert telegram["AS2"]["network_name"] == "Second"
    newest = {r.meta.measurement_uid for r in ROWS[1:2] + ROWS[3:4]}
    assert {telegram["AS1"]["last_uid"], telegram["AS2"]["last_uid"]} == newest


def test_blocked_anywhere_makes_the_test_blocked_and_blocked_networks_come_first(
        cur: duckdb.DuckDBPyConnection) -> None:
    telegram = by_test(apps_table(cur, "RU"))["telegram"]
    assert telegram["status"] == "blocked"
    assert telegram["counts"]["blocked"] == 1 and telegram["counts"]["reachable"] == 1
    assert [n["probe_asn"] for n in telegram["networks"]] == ["AS1", "AS2"]


def test_failure_confirmed_and_not_analysed(cur: duckdb.DuckDBPyConnection) -> None:
    t = by_test(apps_table(cur, "RU"))
    assert t["signal"]["status"] == "failed"
    assert nets(t["signal"])["AS1"]["status"] == "failed"
    tor = nets(t["vanilla_tor"])["AS3"]
    assert (tor["status"], tor["verdict"], tor["blocking"]) == ("blocked", "confirmed", "tls")
    assert tor["network_name"] is None
    assert nets(t["http3"])["AS1"]["status"] == "not analysed"


def test_ties_at_one_instant_go_to_the_highest_uid(cur: duckdb.DuckDBPyConnection) -> None:
    openvpn = nets(by_test(apps_table(cur, "RU"))["openvpn"])["AS1"]
    tied = sorted((r for r in ROWS if r.meta.test_name == "openvpn"), key=lambda r: r.meta.measurement_uid)
    assert openvpn["last_uid"] == tied[-1].meta.measurement_uid
    assert openvpn["verdict"] == tied[-1].verdict.verdict
    assert openvpn["measurements"] == 2


def test_countries_are_kept_apart(cur: duckdb.DuckDBPyConnection) -> None:
    ir = by_test(apps_table(cur, "IR"))
    assert ir["whatsapp"]["status"] == "blocked"
    assert ir["telegram"]["status"] == "not measured"
    assert by_test(apps_table(cur, "DE"))["telegram"]["networks"] == []


def test_a_period_takes_the_newest_measurement_inside_it(cur: duckdb.DuckDBPyConnection) -> None:
    until = (T0 + timedelta(days=1)).replace(tzinfo=None)
    telegram = nets(by_test(apps_table(cur, "RU", until=until))["telegram"])
    assert set(telegram) == {"AS1"}  # AS2 was first measured later
    assert telegram["AS1"]["status"] == "reachable"
    later = by_test(apps_table(cur, "RU", since=(T0 + timedelta(days=5)).replace(tzinfo=None)))
    assert all(entry["status"] == "not measured" for entry in later.values())


def test_status_words() -> None:
    assert [status_of(v) for v in ("ok", "anomaly", "confirmed", "failure", None)] == [
        "reachable", "blocked", "blocked", "failed", "not analysed"]


def test_undated_measurements_still_count(tmp_path: Path) -> None:
    m = app_measurement("telegram", "RU", "AS7", T0)
    m["measurement_start_time"] = None
    text = orjson.dumps(m)
    meta = meta_of(m, text)
    db = tmp_path / "store.duckdb"
    with Store(db) as store:
        store.add([StoredMeasurement(meta, text, TCPV, "ooni")])
    with duckdb.connect(str(db), read_only=True) as con:
        entry = by_test(apps_table(con.cursor(), "RU"))["telegram"]
    assert entry["networks"][0]["status"] == "blocked"
    assert entry["networks"][0]["last_time"] is None
    assert entry["networks"][0]["last_uid"] == meta.measurement_uid
