"""Flat observations of a web_connectivity measurement (after ooni/data models/observations.py):
one row per DNS answer, TCP connect, TLS handshake and HTTP response, plus the control's view.
Every layout from 0.0.x to 0.5.x lands in the same rows; missing or malformed parts become
empty lists or None, never exceptions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from censorwatch.analysis.body import body_text, header_map, title_of
from censorwatch.analysis.shapes import integer, items, mapping, text
from censorwatch.model import failures


# The per-answer and per-connection rows are named tuples: immutable like frozen dataclasses,
# and five times cheaper to build (a measurement can carry dozens of each).
class DnsAnswer(NamedTuple):
    hostname: str | None
    query_type: str | None
    answer: str  # an IP or, for CNAME answers, a host name
    answer_type: str
    asn: int | None


class TcpObservation(NamedTuple):
    ip: str
    port: int | None
    success: bool
    failure: str | None


class TlsObservation(NamedTuple):
    address: str | None  # "ip:port" (ip may be bracketed v6)
    server_name: str | None
    failure: str | None


@dataclass(frozen=True)
class HttpObservation:
    url: str | None
    status_code: int | None
    body: str | None
    reported_length: int | None  # the measurement's own body_length
    truncated: bool
    headers: dict[str, str]
    title: str
    failure: str | None

    @property
    def body_length(self) -> int | None:
        """The measurement's body_length, else the UTF-8 length of the body. Worked out only when
        a verdict compares lengths: encoding non-ASCII bodies for it was 7 % of analysis, mostly
        for responses (earlier hops of a redirect chain) that no verdict looks at."""
        return self.reported_length if self.reported_length is not None else _utf8_length(self.body)


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


def dns_answers(queries: object) -> list[DnsAnswer]:
    rows: list[DnsAnswer] = []
    for query in items(queries):
        query = mapping(query)
        answers = items(query.get("answers"))
        if not answers:
            continue
        hostname, query_type = text(query.get("hostname")), text(query.get("query_type"))
        for answer in answers:
            answer = mapping(answer)
            value = text(answer.get("ipv4")) or text(answer.get("ipv6")) or text(answer.get("hostname"))
            if value is None:
                continue
            kind = str(answer.get("answer_type") or "")
            rows.append(DnsAnswer(hostname, query_type, value, kind, integer(answer.get("asn"))))
    return rows


def dns_failure(test_keys: Mapping[str, Any], answers: list[DnsAnswer] | None = None) -> str | None:
    """`answers` are dns_answers of the same queries when the caller has them already."""
    explicit = text(test_keys.get("dns_experiment_failure"))
    if explicit:
        return explicit
    failures = [text(mapping(q).get("failure")) for q in items(test_keys.get("queries"))]
    real = [f for f in failures if f]
    # Only a failure when no query answered (AAAA-only failures are normal for v4-only sites).
    if not real or len(real) != len(failures):
        return None
    if answers is None:
        answers = dns_answers(test_keys.get("queries"))
    return None if answers else real[0]


def tcp_rows(tcp_connect: object) -> list[TcpObservation]:
    rows: list[TcpObservation] = []
    for entry in items(tcp_connect):
        entry = mapping(entry)
        ip = text(entry.get("ip"))
        if ip is None:
            continue
        status = mapping(entry.get("status"))
        success = status.get("success") is True
        rows.append(TcpObservation(ip, integer(entry.get("port")), success, text(status.get("failure"))))
    return rows


def tls_rows(handshakes: object) -> list[TlsObservation]:
    return [
        TlsObservation(text(h.get("address")), text(h.get("server_name")), text(h.get("failure")))
        for h in map(mapping, items(handshakes))
    ]


def http_rows(requests: object) -> list[HttpObservation]:
    rows: list[HttpObservation] = []
    for entry in items(requests):
        entry = mapping(entry)
        request = mapping(entry.get("request"))
        response = mapping(entry.get("response"))
        body = body_text(response.get("body"))
        rows.append(
            HttpObservation(
                url=text(request.get("url")),
                status_code=integer(response.get("code")),
                body=body,
                reported_length=integer(response.get("body_length")),
                truncated=response.get("body_is_truncated") is True,
                headers=header_map(response.get("headers_list") or response.get("headers")),
                title=title_of(body),
                failure=text(entry.get("failure")),
            )
        )
    return rows


def _utf8_length(body: str | None) -> int | None:
    if not body:
        return None
    # isascii is a flag lookup: an ASCII body's length is its UTF-8 length, no copy needed.
    return len(body) if body.isascii() else len(body.encode("utf-8", "replace"))


def _control_dns_failure(value: object) -> str | None:
    # oohelperd keeps the legacy helper's names: "dns_name_error" is its NXDOMAIN.
    failure = text(value)
    return failures.DNS_NXDOMAIN if failure == "dns_name_error" else failure


def control_view(control: object) -> ControlView | None:
    control = mapping(control)
    if not control:
        return None
    dns = mapping(control.get("dns"))
    http = mapping(control.get("http_request"))
    ip_info = mapping(control.get("ip_info"))
    asns = {asn for info in ip_info.values() if (asn := integer(mapping(info).get("asn")))}
    return ControlView(
        dns_failure=_control_dns_failure(dns.get("failure")),
        addrs=tuple(a for a in items(dns.get("addrs")) if isinstance(a, str)),
        asns=frozenset(asns),
        tcp={k: mapping(v).get("status") is True for k, v in mapping(control.get("tcp_connect")).items()},
        tls={k: mapping(v).get("status") is True for k, v in mapping(control.get("tls_handshake")).items()},
        http_failure=text(http.get("failure")),
        status_code=integer(http.get("status_code")),
        body_length=integer(http.get("body_length")),
        title=str(http.get("title") or ""),
        header_names=frozenset(str(k).lower() for k in mapping(http.get("headers"))),
        has_dns=bool(dns),
        has_http=bool(http),
    )


def observe(test_keys: Mapping[str, Any]) -> WebObservations:
    answers = dns_answers(test_keys.get("queries"))
    return WebObservations(
        dns_failure=dns_failure(test_keys, answers),
        answers=answers,
        tcp=tcp_rows(test_keys.get("tcp_connect")),
        tls=tls_rows(test_keys.get("tls_handshakes")),
        http=http_rows(test_keys.get("requests")),
        http_failure=text(test_keys.get("http_experiment_failure")),
        control=control_view(test_keys.get("control")),
        control_failure=text(test_keys.get("control_failure")),
    )
