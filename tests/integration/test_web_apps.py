"""Messengers, circumvention tools and network tests in the explorer, through the app's HTTP
(FastAPI TestClient) on a store filled by `censorwatch ingest ooni`: the country page's table
(reachable / blocked / failed / not measured per network, the newest measurement winning, a link
to it), and the measurement page's steps (DNS, TCP, TLS, QUIC, HTTP and each test's own keys),
escaped however hostile the measurement. Small measurements are built here; the real OONI files
of ../shared/data are added when present (those tests skip otherwise)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from censorwatch.model.measurement import format_time, meta_of, new_report_id
from censorwatch.web import demo
from censorwatch.web.app import create_app
from censorwatch.web.apps_table import APP_TEST_NAMES
from censorwatch.web.test_steps import steps
from tests.conftest import SHARED_DATA
from tests.integration.timeline_store import invoke

REAL = SHARED_DATA / "ooni" / "measurements"
REAL_APP_FILES = ("telegram_nourl.json", "signal_022.json", "whatsapp.json", "tor.json", "vanilla_tor.json",
                  "vanilla_tor_ok.json", "torsf_383.json", "openvpn.json", "riseupvpn.json")
T0 = datetime(2025, 4, 1, 8, 0, tzinfo=UTC)
DCS = ("149.154.175.50", "149.154.167.51", "149.154.175.100")
PWNED = "window.__pwned=1"
EVIL = f'<script>{PWNED}</script><img src=x onerror="{PWNED}">'


def base(test_name: str, cc: str, asn: str, network: str, when: datetime, test_keys: Any) -> dict[str, Any]:
    return {
        "annotations": {}, "data_format_version": "0.2.0", "input": None,
        "measurement_start_time": format_time(when), "test_start_time": format_time(when),
        "probe_asn": asn, "probe_cc": cc, "probe_ip": "127.0.0.1", "probe_network_name": network,
        "report_id": new_report_id(test_name, cc, asn, when), "resolver_asn": asn, "resolver_ip": "127.0.0.1",
        "software_name": "censorwatch", "software_version": "0.1.0", "test_name": test_name,
        "test_version": "0.1.0", "test_runtime": 1.0, "test_keys": test_keys,
    }


def telegram(asn: str, network: str, when: datetime, reachable: bool) -> dict[str, Any]:
    """ts-020 keys: TCP to the data centres and an HTTP POST to each; all connects fail when blocked."""
    failure = None if reachable else "generic_timeout_error"
    tcp = [{"ip": ip, "port": port, "status": {"success": reachable, "failure": failure}}
           for ip in DCS for port in (80, 443)]
    requests: list[dict[str, Any]] = [
        {"request": {"url": f"http://{ip}:{port}/", "method": "POST", "headers": {}}, "failure": failure,
         "response": {"code": 200 if reachable else 0, "body": "", "headers": {}}}
        for ip in DCS for port in (80, 443)]
    keys = {"tcp_connect": tcp, "requests": requests, "queries": [], "tls_handshakes": [],
            "telegram_tcp_blocking": not reachable, "telegram_http_blocking": not reachable,
            "telegram_web_status": "ok", "telegram_web_failure": None}
    return base("telegram", "RU", asn, network, when, keys)


def http3(when: datetime) -> dict[str, Any]:
    keys = {"queries": [{"hostname": "quic.example", "query_type": "A", "engine": "udp",
                         "resolver_address": "127.0.0.53:53", "failure": None,
                         "answers": [{"answer_type": "A", "ipv4": "203.0.113.7"}]}],
            "tcp_connect": [{"ip": "203.0.113.7", "port": 443, "status": {"success": True, "failure": None}}],
            "tls_handshakes": [{"address": "203.0.113.7:443", "server_name": "quic.example",
                                "tls_version": "TLSv1.3", "failure": None}],
            "quic_handshakes": [{"address": "203.0.113.7:443", "server_name": "quic.example", "tls_version": "",
                                 "failure": "generic_timeout_error"}],
            "requests": [{"network": "udp", "request": {"url": "https://quic.example/", "method": "GET"},
                          "failure": "generic_timeout_error", "response": None},
                         {"network": "tcp", "request": {"url": "https://quic.example/", "method": "GET"},
                          "failure": None, "response": {"code": 200, "body": "hello"}}],
            "http3_failure": "generic_timeout_error", "tcp_tls_failure": None}
    m = base("http3", "RU", "AS1", "First", when, keys)
    m["input"] = "https://quic.example/"
    return m


def throttling(when: datetime) -> dict[str, Any]:
    """The shape analysis/throttling.py reads: downloads of the target and of a control, and the
    network's history summarised by the probe."""
    def download(kind: str, kbit: float, handshake: float) -> dict[str, Any]:
        return {"kind": kind, "url": f"https://{kind}.example/", "bytes": 2_000_000, "kbit_per_s": kbit,
                "tls_handshake_time": handshake, "time_capped": True, "failure": None}

    keys = {"failure": None,
            "downloads": [download("target", 136.0, 1.9), download("target", 144.0, 2.1),
                          download("control", 41000.0, 0.2), download("control", 39000.0, 0.3)],
            "history": {"measurements": 5, "slow": 4}}
    m = base("throttling", "RU", "AS2", "Second", when, keys)
    m["input"] = "https://slow.example/"
    return m


def dnscheck(when: datetime) -> dict[str, Any]:
    ok_lookup = {"failure": None, "queries": [{"hostname": "example.org", "query_type": "A", "engine": "doh",
                                               "resolver_address": "https://dns.example/dns-query", "failure": None,
                                               "answers": [{"answer_type": "A", "ipv4": "93.184.215.14"}]}]}
    bad_lookup = {"failure": "connection_reset", "failed_operation": "tls_handshake",
                  "tcp_connect": [{"ip": "192.0.2.53", "port": 853, "status": {"success": True, "failure": None}}],
                  "tls_handshakes": [{"address": "192.0.2.53:853", "server_name": "dot.example",
                                      "failure": "connection_reset"}]}
    keys = {"domain": "example.org", "bootstrap_failure": None,
            "lookups": {"https://dns.example/dns-query": ok_lookup, "dot://192.0.2.53:853": bad_lookup}}
    return base("dnscheck", "RU", "AS1", "First", when, keys)


def hostile(when: datetime) -> dict[str, Any]:
    """A telegram measurement whose every field tries to inject markup, and whose types are wrong."""
    keys = {
        "tcp_connect": [{"ip": EVIL, "port": EVIL, "status": {"success": "yes", "failure": EVIL}}, "junk", 7],
        "queries": [{"hostname": EVIL, "answers": [{"ipv4": EVIL}, None], "failure": {"nested": EVIL}}],
        "tls_handshakes": {"not": "a list"},
        "requests": [{"request": {"url": EVIL, "headers": {"Host": EVIL}}, "failure": EVIL,
                      "response": {"code": EVIL, "body": {"format": "base64", "data": 5}}}, None],
        "telegram_tcp_blocking": EVIL,
        EVIL: EVIL,
        "telegram_web_status": ["a", EVIL],
    }
    return base("telegram", "RU", "AS666", EVIL, when, keys)


SYNTHETIC = {
    "tg_as1_old": telegram("AS1", "First", T0, True),
    "tg_as1_new": telegram("AS1", "First", T0 + timedelta(days=2), False),
    "tg_as2": telegram("AS2", "Second", T0 + timedelta(days=1), True),
    "http3": http3(T0 + timedelta(days=1)),
    "throttling": throttling(T0 + timedelta(days=1)),
    "dnscheck": dnscheck(T0 + timedelta(days=1)),
    "hostile": hostile(T0 + timedelta(days=3)),
    "web": demo.web_measurement("https://news.example/", "RU", "AS1", "First", T0, "ok"),
}


def uid_of(con: duckdb.DuckDBPyConnection, line: str) -> str:
    """The uid `ingest ooni` stored the line under (the model derives it from the line's JSON)."""
    uid: str = meta_of(json.loads(line), line.encode()).measurement_uid
    row = con.execute("SELECT measurement_uid FROM measurements WHERE measurement_uid = ?", [uid]).fetchone()
    assert row is not None, line[:200]
    return uid


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    folder = tmp_path_factory.mktemp("apps_web")
    db = folder / "store.duckdb"
    lines = {name: json.dumps(m) for name, m in SYNTHETIC.items()}
    if REAL.is_dir():
        for name in REAL_APP_FILES:
            lines[name] = json.dumps(json.loads((REAL / name).read_text(encoding="utf-8")))
    jsonl = folder / "measurements.jsonl"
    jsonl.write_text("\n".join(lines.values()) + "\n", encoding="utf-8")
    invoke("ingest", "ooni", str(jsonl), "--db", str(db))
    # Looked up and closed before the app opens the store (one process, one way of opening it).
    with duckdb.connect(str(db), read_only=True) as con:
        uids = {name: uid_of(con, line) for name, line in lines.items()}
    return db, uids


@pytest.fixture(scope="module")
def client(store: tuple[Path, dict[str, str]]) -> Iterator[TestClient]:
    with TestClient(create_app(store[0])) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def uids(store: tuple[Path, dict[str, str]]) -> dict[str, str]:
    return store[1]


def app_block(page: str, test_name: str) -> str:
    """The <tbody> of one test in the country page's table."""
    found = re.search(rf'<tbody class="app app-([a-z-]+)" data-test="{test_name}">(.*?)</tbody>', page, re.S)
    assert found, test_name
    return found.group(1) + "|" + found.group(2)


def test_country_table_lists_every_app_test(client: TestClient, uids: dict[str, str]) -> None:
    page = client.get("/country/RU")
    assert page.status_code == 200
    text = page.text
    assert 'id="apps-table"' in text
    for name in APP_TEST_NAMES:
        app_block(text, name)
    for name in ("whatsapp", "signal", "psiphon", "openvpn", "vanilla_tor"):
        block = app_block(text, name)
        assert block.startswith("not-measured|") and "Not measured" in block, name


def test_country_table_newest_verdict_per_network(client: TestClient, uids: dict[str, str]) -> None:
    block = app_block(client.get("/country/RU").text, "telegram")
    assert block.startswith("blocked|")
    rows = {asn: row for asn, row in re.findall(r'<tr class="net-row" data-asn="(AS\d+)">(.*?)</tr>', block, re.S)}
    assert set(rows) == {"AS1", "AS2", "AS666"}
    assert "Blocked" in rows["AS1"] and "Connection blocked" in rows["AS1"]
    assert "2025-04-03 08:00" in rows["AS1"]
    assert f'href="/measurement/{uids["tg_as1_new"]}"' in rows["AS1"]
    assert uids["tg_as1_old"] not in block
    assert "Reachable" in rows["AS2"] and f'href="/measurement/{uids["tg_as2"]}"' in rows["AS2"]
    # Blocked networks first.
    assert block.index('data-asn="AS1"') < block.index('data-asn="AS2"')


def test_country_json_twin_has_the_table(client: TestClient, uids: dict[str, str]) -> None:
    data = client.get("/country/RU.json").json()
    apps = {entry["test_name"]: entry for entry in data["apps"]}
    assert list(apps) == list(APP_TEST_NAMES)
    nets = {n["probe_asn"]: n for n in apps["telegram"]["networks"]}
    assert (nets["AS1"]["status"], nets["AS1"]["blocking"], nets["AS1"]["last_uid"]) == (
        "blocked", "tcp_ip", uids["tg_as1_new"])
    assert nets["AS2"]["status"] == "reachable"
    assert apps["whatsapp"]["status"] == "not measured"
    assert {n["probe_asn"] for n in apps["dnscheck"]["networks"]} == {"AS1"}
    assert apps["throttling"]["networks"][0]["probe_asn"] == "AS2"


def test_country_table_follows_the_period(client: TestClient) -> None:
    data = client.get("/country/RU.json", params={"until": "2025-04-01"}).json()
    nets = {n["probe_asn"]: n for n in {e["test_name"]: e for e in data["apps"]}["telegram"]["networks"]}
    assert set(nets) == {"AS1"} and nets["AS1"]["status"] == "reachable"
    assert "in this period" in client.get("/country/RU", params={"until": "2025-04-01"}).text


def test_hostile_measurement_is_escaped_everywhere(client: TestClient, uids: dict[str, str]) -> None:
    for path in ("/country/RU", f"/measurement/{uids['hostile']}"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert "<script>window" not in page.text and "<img src=x" not in page.text, path
    steps_page = client.get(f"/measurement/{uids['hostile']}").text
    assert str(escape(EVIL)) in steps_page  # shown as text, escaped as Jinja escapes
    assert 'id="steps"' in steps_page


def test_telegram_steps(client: TestClient, uids: dict[str, str]) -> None:
    page = client.get(f"/measurement/{uids['tg_as1_new']}").text
    section = page[page.index('id="steps"'):]
    assert "Connecting (TCP)" in section and "Web requests (HTTP)" in section
    for ip in DCS:
        assert f"{ip}:443" in section
    assert section.count("generic_timeout_error") >= 12
    assert "Telegram data centres blocked (TCP)" in section


def test_a_test_without_control_is_explained_without_one(client: TestClient, uids: dict[str, str]) -> None:
    """The verdict box's plain words must not speak of a control the telegram test never had."""
    page = client.get(f"/measurement/{uids['tg_as1_new']}").text
    help_text = page[page.index('<p class="help">'):page.index("</p>", page.index('<p class="help">'))]
    assert "control" not in help_text
    assert "Connections to the service&#39;s addresses failed from the probe&#39;s network." in help_text


def test_http3_steps_show_quic_next_to_tls(client: TestClient, uids: dict[str, str]) -> None:
    page = client.get(f"/measurement/{uids['http3']}").text
    quic = page[page.index("QUIC handshakes (HTTP/3)"):]
    assert "quic.example" in quic and "generic_timeout_error" in quic
    assert "Encrypted handshakes (TLS)" in page and "TLSv1.3" in page
    assert "203.0.113.7" in page[page.index("Looking up names (DNS)"):]
    http = page[page.index("Web requests (HTTP)"):]
    assert "over udp" in http and "over tcp" in http
    assert "HTTP/3 fetch failure" in page


def test_throttling_and_dnscheck_steps(client: TestClient, uids: dict[str, str]) -> None:
    page = client.get(f"/measurement/{uids['throttling']}").text
    table = page[page.index("Downloads and throughput"):]
    assert "kbit_per_s" in table and "136.0" in table and "41000.0" in table and ">control<" in table
    assert "Earlier runs on this network" in page and "measurements: 5; slow: 4" in page
    page = client.get(f"/measurement/{uids['dnscheck']}").text
    assert "Lookup through https://dns.example/dns-query" in page
    assert "Lookup through dot://192.0.2.53:853" in page and "connection_reset" in page


HOSTILE_SHAPES: list[Any] = [None, [], "text", 5, {"queries": "x", "tcp_connect": {"status": 3}, "targets": [1, "a"],
                             "lookups": [1], "tor_logs": {"a": 1}, "tor_progress": "50", "network_events": [None, 4],
                             "quic_handshakes": [{"failure": []}], "failing_gateways": "x",
                             "samples": [{"t": "a"}, 3]},
                             {"targets": {"a": None, "b": {"summary": [1], "failure": False}}, "tor_log": 5,
                              "tor_progress": float("nan"), "bootstrap": [], "requests": [{"response": []}]}]


@pytest.mark.parametrize("test_name", APP_TEST_NAMES)
def test_steps_never_raise_on_hostile_shapes(test_name: str) -> None:
    for keys in HOSTILE_SHAPES:
        seen = steps({"test_name": test_name, "test_keys": keys}, test_name)
        assert seen["kind"] == "app"
        json.dumps(seen)  # only plain values come out


# --- the real OONI files ---------------------------------------------------------------------

needs_real = pytest.mark.skipif(not REAL.is_dir(), reason="../shared/data/ooni/measurements is absent")


@needs_real
@pytest.mark.parametrize("name", REAL_APP_FILES)
def test_every_real_app_measurement_shows_its_steps(client: TestClient, uids: dict[str, str], name: str) -> None:
    page = client.get(f"/measurement/{uids[name]}")
    assert page.status_code == 200
    assert 'id="steps"' in page.text


@needs_real
def test_real_steps_content(client: TestClient, uids: dict[str, str]) -> None:
    telegram_page = client.get(f"/measurement/{uids['telegram_nourl.json']}").text
    tcp = telegram_page[telegram_page.index("Connecting (TCP)"):telegram_page.index("Web requests (HTTP)")]
    assert tcp.count("<tr>") == 1 + 12  # the header and the 12 connects to the data centres
    assert "http://149.154.171.5:443/" in telegram_page  # no URL recorded: placed by its Host header
    tor_page = client.get(f"/measurement/{uids['tor.json']}").text
    assert 'id="tor-targets"' in tor_page and "66.111.2.131:9001" in tor_page and "or_port" in tor_page
    vanilla = client.get(f"/measurement/{uids['vanilla_tor.json']}").text
    assert "Reached <b>5%</b>" in vanilla and "Connecting to a relay" in vanilla
    openvpn = client.get(f"/measurement/{uids['openvpn.json']}").text
    assert 'id="vpn-handshake"' in openvpn and "vpn_handshake_done" in openvpn
    signal = client.get(f"/measurement/{uids['signal_022.json']}").text
    assert "Signal servers" in signal and "api.directory.signal.org" in signal
    whatsapp = client.get(f"/measurement/{uids['whatsapp.json']}").text
    assert "WhatsApp endpoints" in whatsapp and "5222" in whatsapp
    riseup = client.get(f"/measurement/{uids['riseupvpn.json']}").text
    assert "ssl_invalid_certificate" in riseup and "RiseupVPN API" in riseup


@needs_real
def test_real_files_in_the_country_tables(client: TestClient, uids: dict[str, str]) -> None:
    it = {e["test_name"]: e for e in client.get("/country/IT.json").json()["apps"]}
    # telegram_nourl, signal_022 and tor.json are Italian (AS30722) and judged ok
    for name, file in (("telegram", "telegram_nourl.json"), ("signal", "signal_022.json"), ("tor", "tor.json")):
        net = it[name]["networks"][0]
        assert (net["probe_asn"], net["status"], net["last_uid"]) == ("AS30722", "reachable", uids[file]), name
    assert it["whatsapp"]["status"] == "not measured"
    cn = {e["test_name"]: e for e in client.get("/country/CN.json").json()["apps"]}
    assert cn["vanilla_tor"]["networks"][0]["status"] == "blocked"
    page = client.get("/country/IT").text
    assert f'href="/measurement/{uids["telegram_nourl.json"]}"' in app_block(page, "telegram")
