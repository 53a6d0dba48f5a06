"""Flat observations of a web_connectivity measurement (after ooni/data models/observations.py):
one row per DNS answer, TCP connect, TLS handshake and HTTP response, plus the control's view.
Every layout from 0.0.x to 0.5.x lands in the same rows; missing or malformed parts become
empty lists or None, never exceptions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from censorwatch.analysis.body import body_text, header_map, title_of
from censorwatch.model import failures


@dataclass(frozen=True)
class DnsAnswer:
    hostname: str | None
    query_type: str | None
    answer: str  # an IP or, for CNAME answers, a host name
    answer_type: str
    asn: int | None


@dataclass(frozen=True)
class TcpObservation:
    ip: str
    port: int | None
    success: bool
    failure: str | None


@dataclass(frozen=True)
class TlsObservation:
    address: str | None  # "ip:port" (ip may be bracketed v6)
    server_name: str | None
    failure: str | None


@dataclass(frozen=True)
class HttpObservation:
    url: str | None
    status_code: int | None
    body: str | None
    body_length: int | None
    truncated: bool
    headers: dict[str, str]
    title: str
    failure: str | None


@dataclass(frozen=True)
class ControlView:
    dns_failure: str | None
    addrs: tuple[str, ...]
    asns: frozenset[int]
    tcp: Mapping[str, bool]
    tls: Mapping[str, bool]
    http_failure: str | None
    status_code: int | None
    body_length: int | None
    title: str
    header_names: frozenset[str]
    has_dns: bool
    has_http: bool


@dataclass(frozen=True)
class WebObservations:
    dns_failure: str | None
    answers: list[DnsAnswer] = field(default_factory=list)
    tcp: list[TcpObservation] = field(default_factory=list)
    tls: list[TlsObservation] = field(default_factory=list)
    http: list[HttpObservation] = field(default_factory=list)  # OONI order: final response first
    http_failure: str | None = None
    control: ControlView | None = None
    control_failure: str | None = None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _map(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def dns_answers(queries: object) -> list[DnsAnswer]:
    rows: list[DnsAnswer] = []
    for query in _list(queries):
        query = _map(query)
        for answer in _list(query.get("answers")):
            answer = _map(answer)
            kind = str(answer.get("answer_type") or "")
            value = _str(answer.get("ipv4")) or _str(answer.get("ipv6")) or _str(answer.get("hostname"))
            if value is None:
                continue
            rows.append(
                DnsAnswer(_str(query.get("hostname")), _str(query.get("query_type")), value, kind,
                          _int(answer.get("asn")))
            )
    return rows


def dns_failure(test_keys: Mapping[str, Any]) -> str | None:
    explicit = _str(test_keys.get("dns_experiment_failure"))
    if explicit:
        return explicit
    failures = [_str(_map(q).get("failure")) for q in _list(test_keys.get("queries"))]
    real = [f for f in failures if f]
    # Only a failure when no query answered (AAAA-only failures are normal for v4-only sites).
    if real and len(real) == len(failures) and not dns_answers(test_keys.get("queries")):
        return real[0]
    return None


def tcp_rows(tcp_connect: object) -> list[TcpObservation]:
    rows: list[TcpObservation] = []
    for entry in _list(tcp_connect):
        entry = _map(entry)
        ip = _str(entry.get("ip"))
        if ip is None:
            continue
        status = _map(entry.get("status"))
        success = status.get("success") is True
        rows.append(TcpObservation(ip, _int(entry.get("port")), success, _str(status.get("failure"))))
    return rows


def tls_rows(handshakes: object) -> list[TlsObservation]:
    return [
        TlsObservation(_str(h.get("address")), _str(h.get("server_name")), _str(h.get("failure")))
        for h in map(_map, _list(handshakes))
    ]


def http_rows(requests: object) -> list[HttpObservation]:
    rows: list[HttpObservation] = []
    for entry in _list(requests):
        entry = _map(entry)
        request = _map(entry.get("request"))
        response = _map(entry.get("response"))
        text = body_text(response.get("body"))
        length = _int(response.get("body_length"))
        rows.append(
            HttpObservation(
                url=_str(request.get("url")),
                status_code=_int(response.get("code")),
                body=text,
                body_length=length if length is not None else (len(text.encode("utf-8", "replace")) if text else None),
                truncated=response.get("body_is_truncated") is True,
                headers=header_map(response.get("headers_list") or response.get("headers")),
                title=title_of(text),
                failure=_str(entry.get("failure")),
            )
        )
    return rows


def _control_dns_failure(value: object) -> str | None:
    # oohelperd keeps the legacy helper's names: "dns_name_error" is its NXDOMAIN.
    failure = _str(value)
    return failures.DNS_NXDOMAIN if failure == "dns_name_error" else failure


def control_view(control: object) -> ControlView | None:
    control = _map(control)
    if not control:
        return None
    dns = _map(control.get("dns"))
    http = _map(control.get("http_request"))
    ip_info = _map(control.get("ip_info"))
    asns = {asn for info in ip_info.values() if (asn := _int(_map(info).get("asn")))}
    return ControlView(
        dns_failure=_control_dns_failure(dns.get("failure")),
        addrs=tuple(a for a in _list(dns.get("addrs")) if isinstance(a, str)),
        asns=frozenset(asns),
        tcp={k: _map(v).get("status") is True for k, v in _map(control.get("tcp_connect")).items()},
        tls={k: _map(v).get("status") is True for k, v in _map(control.get("tls_handshake")).items()},
        http_failure=_str(http.get("failure")),
        status_code=_int(http.get("status_code")),
        body_length=_int(http.get("body_length")),
        title=str(http.get("title") or ""),
        header_names=frozenset(str(k).lower() for k in _map(http.get("headers"))),
        has_dns=bool(dns),
        has_http=bool(http),
    )


def observe(test_keys: Mapping[str, Any]) -> WebObservations:
    return WebObservations(
        dns_failure=dns_failure(test_keys),
        answers=dns_answers(test_keys.get("queries")),
        tcp=tcp_rows(test_keys.get("tcp_connect")),
        tls=tls_rows(test_keys.get("tls_handshakes")),
        http=http_rows(test_keys.get("requests")),
        http_failure=_str(test_keys.get("http_experiment_failure")),
        control=control_view(test_keys.get("control")),
        control_failure=_str(test_keys.get("control_failure")),
    )
