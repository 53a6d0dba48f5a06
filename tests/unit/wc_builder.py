"""Builds synthetic web_connectivity measurements in OONI's layout for table-driven rule tests."""

from __future__ import annotations

from typing import Any

PAGE = "<html><head><title>Example Domain News</title></head><body>" + "x" * 2000 + "</body></html>"

CONTROL_PAGE = (200, len(PAGE), "Example Domain News", {"X-Site": "1"})



def _helper_dns_failure(failure: str | None) -> str | None:
    # oohelperd reports NXDOMAIN under its legacy name.
    return "dns_name_error" if failure == "dns_nxdomain_error" else failure


def measurement(
    *,
    answers: list[str] | None = None,
    dns_failure: str | None = None,
    control_addrs: list[str] | None = None,
    control_dns_failure: str | None = None,
    tcp: list[tuple[str, bool, str | None]] | None = None,
    control_tcp_ok: bool = True,
    tls: list[tuple[str, str | None]] | None = None,
    control_tls_ok: bool = True,
    response: tuple[int, str, dict[str, str]] | None = (200, PAGE, {"X-Site": "1"}),
    http_failure: str | None = None,
    control_http: tuple[int, int, str, dict[str, str]] | None = CONTROL_PAGE,
    control_http_failure: str | None = None,
    control_failure: str | None = None,
    url: str = "http://example.org/",
    probe_cc: str = "RU",
    claimed: object = False,
    no_control: bool = False,
) -> dict[str, Any]:
    answers = ["93.184.216.34"] if answers is None else answers
    control_addrs = ["93.184.216.34"] if control_addrs is None else control_addrs
    port = 443 if url.startswith("https") else 80
    tcp = [(ip, True, None) for ip in answers] if tcp is None else tcp
    requests: list[dict[str, Any]] = []
    if response is not None and http_failure is None:
        code, body, headers = response
        requests.append({"request": {"url": url, "method": "GET"},
                         "response": {"code": code, "body": body, "headers": headers}, "failure": None})
    elif http_failure is not None:
        requests.append({"request": {"url": url, "method": "GET"}, "response": None, "failure": http_failure})
    control: dict[str, Any] = {
        "dns": {
            "failure": _helper_dns_failure(control_dns_failure),
            "addrs": [] if control_dns_failure else control_addrs,
        },
        "tcp_connect": {f"{ip}:{port}": {"status": control_tcp_ok, "failure": None if control_tcp_ok else
                                         "connection_refused"} for ip in control_addrs},
        "http_request": (
            {"status_code": -1, "body_length": -1, "title": "", "headers": {}, "failure": control_http_failure}
            if control_http_failure or control_http is None
            else {"status_code": control_http[0], "body_length": control_http[1], "title": control_http[2],
                  "headers": control_http[3], "failure": None}
        ),
    }
    if url.startswith("https"):
        control["tls_handshake"] = {f"{ip}:443": {"status": control_tls_ok, "failure": None} for ip in control_addrs}
    test_keys: dict[str, Any] = {
        "queries": [{"hostname": "example.org", "query_type": "A", "failure": dns_failure,
                     "answers": [] if dns_failure else [{"answer_type": "A", "ipv4": a} for a in answers]}],
        "dns_experiment_failure": dns_failure,
        "tcp_connect": [{"ip": ip, "port": port, "status": {"success": ok, "failure": f}} for ip, ok, f in tcp],
        "tls_handshakes": [
            {"address": f"{ip}:443", "server_name": "example.org", "failure": f} for ip, f in (tls or [])
        ],
        "requests": requests,
        "http_experiment_failure": http_failure,
        "control": {} if no_control else control,
        "control_failure": control_failure,
        "blocking": claimed,
    }
    return {"test_name": "web_connectivity", "test_version": "0.4.3", "input": url, "probe_cc": probe_cc,
            "probe_asn": "AS12389", "measurement_start_time": "2026-11-01 10:00:00", "test_keys": test_keys}
