"""The country page's table of messengers and circumvention tools: for each app test and each
network that ran it, the verdict of the newest measurement (reachable / blocked / failed to
measure), its date and a link to it. Tests never run in the country are listed as "not
measured": a journalist must see that no data is not the same as reachable."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from censorwatch.model.verdict import ANOMALY, CONFIRMED, FAILURE, OK
from censorwatch.web.filters import Filters, where_clause


@dataclass(frozen=True)
class AppTest:
    test_name: str
    label: str
    group: str  # "messenger", "circumvention" or "network"
    about: str  # what "reachable" means for this test, in plain words


APP_TESTS: tuple[AppTest, ...] = (
    AppTest("telegram", "Telegram", "messenger", "Telegram's data centres and web.telegram.org"),
    AppTest("signal", "Signal", "messenger", "Signal's servers"),
    AppTest("whatsapp", "WhatsApp", "messenger", "WhatsApp's endpoints, registration server and WhatsApp Web"),
    AppTest("facebook_messenger", "Facebook Messenger", "messenger", "Facebook Messenger's servers"),
    AppTest("vanilla_tor", "Tor", "circumvention", "Tor with its default configuration"),
    AppTest("tor", "Tor relays and bridges", "circumvention", "Tor directory authorities, relays and obfs4 bridges"),
    AppTest("torsf", "Tor over Snowflake", "circumvention", "Tor through the Snowflake pluggable transport"),
    AppTest("psiphon", "Psiphon", "circumvention", "the Psiphon circumvention tunnel"),
    AppTest("riseupvpn", "RiseupVPN", "circumvention", "RiseupVPN's API and gateways"),
    AppTest("openvpn", "OpenVPN", "circumvention", "an OpenVPN handshake with a VPN server"),
    AppTest("dnscheck", "Encrypted DNS", "network", "public DNS-over-HTTPS and DNS-over-TLS resolvers"),
    AppTest("http3", "HTTP/3 (QUIC)", "network", "sites over QUIC (HTTP/3) next to TCP and TLS"),
    AppTest("throttling", "Throttling", "network", "download speed and TLS handshake time against the control"),
)
APP_TEST_NAMES: tuple[str, ...] = tuple(t.test_name for t in APP_TESTS)

REACHABLE = "reachable"
BLOCKED = "blocked"
FAILED = "failed"
NOT_ANALYSED = "not analysed"
NOT_MEASURED = "not measured"

# Blocked first: that is what a reader comes for; then what cannot be told either way.
_STATUS_ORDER = {BLOCKED: 0, FAILED: 1, NOT_ANALYSED: 2, REACHABLE: 3}


def status_of(verdict: str | None) -> str:
    if verdict == OK:
        return REACHABLE
    if verdict in (ANOMALY, CONFIRMED):
        return BLOCKED
    if verdict == FAILURE:
        return FAILED
    return NOT_ANALYSED


# One statement, two steps. The first groups only narrow columns (test, network, time) of the
# country's app measurements: reading every row's uid and reason in the same pass cost twice as
# much (2 million rows: ~50 ms against ~20 ms). The join then reads the newest row of each
# (test, network) back; the newest time is also a join filter DuckDB pushes into that scan, so a
# store in time order skips most of it. Ties at one time go to the highest uid, so the answer never
# depends on scan order; a (test, network) with no dated measurement keeps its undated ones.
_SQL = """
WITH latest AS (
  SELECT test_name, probe_asn, max(measurement_start_time) AS t, count(*) AS measurements,
         max(probe_network_name) AS network_name
  FROM measurements{where} AND list_contains(?, test_name)
  GROUP BY test_name, probe_asn)
SELECT l.test_name, l.probe_asn, l.measurements, l.network_name, l.t,
  arg_max(struct_pack(uid := m.measurement_uid, verdict := m.verdict, blocking := m.blocking,
                      reason := m.reason), m.measurement_uid) AS last
FROM latest l JOIN measurements m
  ON m.probe_cc = ? AND m.test_name = l.test_name AND m.probe_asn = l.probe_asn
  AND m.measurement_start_time IS NOT DISTINCT FROM l.t
GROUP BY ALL
"""


def _when(value: object) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if isinstance(value, datetime) else None


def apps_table(cur: duckdb.DuckDBPyConnection, probe_cc: str, since: datetime | None = None,
               until: datetime | None = None) -> list[dict[str, Any]]:
    """One entry per app test (APP_TESTS order) with its networks, newest verdict each. `since`
    and `until` (exclusive) restrict it to a period, as the rest of the country page."""
    # probe_cc is always set, so the clause is never empty and the test filter can follow it.
    where, params = where_clause(Filters(probe_cc=probe_cc, since=since, until=until), None)
    sql = _SQL.format(where=where)
    rows = cur.execute(sql, [*params, list(APP_TEST_NAMES), probe_cc]).fetchall()
    by_test: dict[str, list[dict[str, Any]]] = {name: [] for name in APP_TEST_NAMES}
    for test_name, probe_asn, measurements, network_name, when, last in rows:
        last = last if isinstance(last, dict) else {}
        by_test[test_name].append({
            "probe_asn": probe_asn,
            "network_name": network_name,
            "status": status_of(last.get("verdict")),
            "verdict": last.get("verdict"),
            "blocking": last.get("blocking"),
            "reason": last.get("reason"),
            "last_time": _when(when),
            "last_uid": last.get("uid"),
            "measurements": int(measurements),
        })
    out = []
    for test in APP_TESTS:
        # Newest first within each status (ISO times sort as text; undated last), stable sorts.
        networks = sorted(by_test[test.test_name], key=lambda n: str(n["probe_asn"]))
        networks.sort(key=lambda n: n["last_time"] or "", reverse=True)
        networks.sort(key=lambda n: _STATUS_ORDER[n["status"]])
        counts = {status: sum(1 for n in networks if n["status"] == status) for status in _STATUS_ORDER}
        out.append({
            "test_name": test.test_name,
            "label": test.label,
            "group": test.group,
            "about": test.about,
            "status": summary_status(counts) if networks else NOT_MEASURED,
            "counts": counts,
            "networks": networks,
        })
    return out


def summary_status(counts: dict[str, int]) -> str:
    """The test's status over its networks: blocked on any network is what the country sees."""
    for status in (BLOCKED, REACHABLE, FAILED):
        if counts.get(status):
            return status
    return NOT_ANALYSED
