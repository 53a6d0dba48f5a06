"""Sample measurements for the explorer's tests, screenshots and benchmark: realistic synthetic
Web Connectivity measurements (one per blocking situation the analysis distinguishes), and the
real OONI measurements of a directory. Every one goes through analysis.record.analysed_record, so
the store holds exactly what `censorwatch probe` or `ingest` would store."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from censorwatch.analysis.record import analysed_record
from censorwatch.model.measurement import MalformedMeasurement, format_time, meta_of, new_report_id
from censorwatch.model.verdict import (
    ANOMALY,
    CONFIRMED,
    DNS,
    FAILURE,
    HTTP_DIFF,
    OK,
    TCP_IP,
    TLS,
    Verdict,
    not_analysed,
    ooni_blocking_text,
)
from censorwatch.store.measurement_rows import StoredMeasurement

END = datetime(2025, 5, 28, 12, 0, tzinfo=UTC)

NETWORKS: dict[str, list[tuple[str, str]]] = {
    "IR": [("AS197207", "Mobile Communication Company of Iran PLC"), ("AS58224", "Iran Telecommunication Company")],
    "RU": [("AS12389", "PJSC Rostelecom"), ("AS8359", "MTS PJSC")],
    "CN": [("AS4134", "Chinanet"), ("AS4837", "China Unicom")],
    "TR": [("AS9121", "Turk Telekom")],
    "IT": [("AS3269", "Telecom Italia")],
    "DE": [("AS3320", "Deutsche Telekom AG")],
    "US": [("AS7922", "Comcast Cable")],
    "BR": [("AS28573", "Claro NXT")],
    "MM": [("AS136255", "Mytel")],
    "EG": [("AS8452", "TE Data")],
}
TARGETS = ("https://twitter.com/", "https://www.bbc.com/news", "http://www.facebook.com/", "https://meduza.io/",
           "https://www.wikipedia.org/", "http://example.org/", "https://www.torproject.org/", "https://signal.org/")
# Which situations each country sees for which target (others are reachable).
CENSORED: dict[str, dict[str, str]] = {
    "IR": {"twitter.com": "dns_blockpage", "www.facebook.com": "dns_blockpage", "www.bbc.com": "http_blockpage",
           "www.torproject.org": "tcp_drop", "signal.org": "tls_reset"},
    "RU": {"meduza.io": "http_blockpage", "twitter.com": "tls_reset", "www.torproject.org": "tcp_drop"},
    "CN": {"twitter.com": "dns_forged", "www.facebook.com": "dns_forged", "www.wikipedia.org": "tls_reset",
           "www.bbc.com": "tcp_drop", "signal.org": "dns_forged"},
    "TR": {"www.wikipedia.org": "dns_forged"},
    "MM": {"www.facebook.com": "tls_reset", "twitter.com": "tls_reset"},
    "EG": {"www.bbc.com": "tcp_drop"},
}
ORIGIN_BODY = "<html><head><title>{title}</title></head><body>{text}</body></html>"
BLOCKPAGE = ('<html><head><title>Access denied</title></head><body><iframe src="http://10.10.34.34?type=Invalid'
             'Site&policy=MainPolicy"></iframe><p>Access to this resource is restricted by decision of the '
             'authorities.</p></body></html>')


def _ip(host: str) -> str:
    seed = sum(host.encode())
    return f"93.184.{seed % 200 + 10}.{seed % 250 + 1}"


def _dns(host: str, answer: str | None, failure: str | None) -> list[dict[str, Any]]:
    answers = [{"answer_type": "A", "ipv4": answer, "ttl": 300}] if answer else []
    return [{"hostname": host, "query_type": "A", "engine": "system", "resolver_address": "", "failure": failure,
             "answers": answers}]


def web_measurement(url: str, cc: str, asn: str, network: str, when: datetime, situation: str) -> dict[str, Any]:
    """One Web Connectivity measurement in OONI's format (ts-017) for a named situation:
    ok, dns_blockpage, dns_forged, http_blockpage, tcp_drop, tls_reset, no_control, site_down."""
    host = url.split("/")[2]
    https = url.startswith("https")
    port = 443 if https else 80
    real_ip = _ip(host)
    title = f"{host} — home"
    origin = ORIGIN_BODY.format(title=title, text="Latest news and stories. " * 40)
    probe_ip = {"dns_blockpage": "10.10.34.36", "dns_forged": "31.13.64.1"}.get(situation, real_ip)
    # A forged answer points at an address that does not serve the site: connections time out.
    tcp_ok = situation not in ("tcp_drop", "site_down", "dns_forged")
    control = {
        "dns": {"failure": None, "addrs": [real_ip]},
        "tcp_connect": {f"{probe_ip}:{port}": {"status": situation != "site_down",
                                              "failure": None if situation != "site_down" else "connection_refused"}},
        "http_request": {"body_length": len(origin), "failure": None if situation != "site_down" else
                         "connection_refused", "title": title, "headers": {"Content-Type": "text/html"},
                         "status_code": 200 if situation != "site_down" else -1},
    }
    tls: list[dict[str, Any]] = []
    requests: list[dict[str, Any]]
    if https and tcp_ok:
        tls = [{"address": f"{probe_ip}:{port}", "server_name": host, "tls_version": "TLSv1.3",
                "failure": "connection_reset" if situation == "tls_reset" else None}]
    if situation in ("tcp_drop", "site_down", "tls_reset", "dns_forged"):
        failure = {"tcp_drop": "generic_timeout_error", "site_down": "connection_refused",
                   "tls_reset": "connection_reset", "dns_forged": "generic_timeout_error"}[situation]
        requests = [{"request": {"url": url, "method": "GET", "headers": {}}, "failure": failure,
                     "response": {"code": 0, "body": None, "headers": {}}}]
    else:
        body = BLOCKPAGE if situation == "http_blockpage" else origin
        requests = [{"request": {"url": url, "method": "GET", "headers": {"Accept": "text/html"}}, "failure": None,
                     "response": {"code": 200, "body": body,
                                  "headers": {"Content-Type": "text/html; charset=utf-8", "Server": "nginx"}}}]
    blocking: Any = {"dns_blockpage": "dns", "dns_forged": "dns", "http_blockpage": "http-diff",
                     "tcp_drop": "tcp_ip", "tls_reset": "http-failure"}.get(situation, False)
    test_keys: dict[str, Any] = {
        "queries": _dns(host, probe_ip, None),
        "tcp_connect": [{"ip": probe_ip, "port": port, "status": {
            "success": tcp_ok, "failure": None if tcp_ok else "generic_timeout_error", "blocked": not tcp_ok}}],
        "tls_handshakes": tls,
        "requests": requests,
        "control": control if situation != "no_control" else {},
        "control_failure": "generic_timeout_error" if situation == "no_control" else None,
        "dns_experiment_failure": None,
        "http_experiment_failure": requests[0]["failure"],
        "dns_consistency": "inconsistent" if situation.startswith("dns") else "consistent",
        "blocking": None if situation == "no_control" else blocking,
        "accessible": None if situation == "no_control" else situation == "ok",
    }
    return {
        "annotations": {"platform": "linux"}, "data_format_version": "0.2.0", "input": url,
        "measurement_start_time": format_time(when), "test_start_time": format_time(when),
        "probe_asn": asn, "probe_cc": cc, "probe_ip": "127.0.0.1", "probe_network_name": network,
        "report_id": new_report_id("web_connectivity", cc, asn, when), "resolver_asn": asn, "resolver_ip": "127.0.0.1",
        "software_name": "censorwatch", "software_version": "0.1.0", "test_name": "web_connectivity",
        "test_runtime": 1.5, "test_version": "0.4.3", "test_keys": test_keys,
    }


# What we expect the analysis to say (used only when the analyser module is not installed).
EXPECTED = {
    "ok": Verdict(OK, None, "the probe and the control saw the same site"),
    "site_down": Verdict(OK, None, "the site is down for the control too"),
    "dns_blockpage": Verdict(CONFIRMED, DNS, "DNS answer 10.10.34.36 is a known Iranian blockpage address",
                             fingerprint="dns_ir_10.10.34.36"),
    "dns_forged": Verdict(ANOMALY, DNS, "DNS answer not seen by the control"),
    "http_blockpage": Verdict(CONFIRMED, HTTP_DIFF, "the page matches a known blockpage", fingerprint="blockpage"),
    "tcp_drop": Verdict(ANOMALY, TCP_IP, "connections timed out for the probe only"),
    "tls_reset": Verdict(ANOMALY, TLS, "the TLS handshake was reset for the probe only"),
    "no_control": Verdict(FAILURE, None, "no control measurement"),
}


def record(measurement: dict[str, Any], situation: str, source: str = "demo") -> StoredMeasurement:
    try:
        return analysed_record(measurement, source)
    except ImportError:
        # The analysis of this test is not installed (yet): store our expectation instead.
        return StoredMeasurement(meta_of(measurement), orjson.dumps(measurement), EXPECTED[situation],
                                 source)


def synthetic(days: int = 20, per_day: int = 3, seed: int = 7, end: datetime = END) -> Iterator[StoredMeasurement]:
    rng = random.Random(seed)
    for day in range(days):
        for cc, networks in NETWORKS.items():
            for url in TARGETS:
                host = url.split("/")[2]
                for _ in range(per_day if cc in CENSORED else 1):
                    asn, network = rng.choice(networks)
                    when = end - timedelta(days=days - 1 - day, seconds=rng.randrange(86400))
                    situation = CENSORED.get(cc, {}).get(host, "ok")
                    # Censorship that began mid-period, and the noise of real networks.
                    if situation != "ok" and day < days // 4 and host != "twitter.com":
                        situation = "ok"
                    roll = rng.random()
                    if roll < 0.03:
                        situation = "no_control"
                    elif roll < 0.05 and situation == "ok":
                        situation = "site_down"
                    yield record(web_measurement(url, cc, asn, network, when, situation), situation)


def real(directory: Path) -> Iterator[StoredMeasurement]:
    """The OONI measurements of a directory (one JSON object per .json file), as ingested."""
    for path in sorted(directory.glob("*.json")):
        text = path.read_text(encoding="utf-8", errors="replace").encode()
        try:
            measurement = orjson.loads(text)
            meta = meta_of(measurement)
        except (orjson.JSONDecodeError, MalformedMeasurement):
            continue
        try:
            yield analysed_record(measurement, "ooni", text)
        except ImportError:
            # The analysis of this test is not installed (yet): stored as not analysed.
            claimed = measurement.get("test_keys") if isinstance(measurement.get("test_keys"), dict) else {}
            yield StoredMeasurement(meta, text, not_analysed(meta.test_name, ooni_blocking_text(
                claimed.get("blocking"))), "ooni")
