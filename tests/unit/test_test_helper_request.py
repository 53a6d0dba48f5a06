"""Validation of control requests and the small pure helpers of the test helper."""

from __future__ import annotations

import asyncio
import errno
import ssl

import dns.resolver
import orjson
import pytest

from censorwatch.model import failures
from censorwatch.model.failure_map import dns_failure_of, failure_of
from censorwatch.services.test_helper import BadRequest, parse_request
from censorwatch.services.test_helper.http_fetch import canonical_header, extract_title
from censorwatch.services.test_helper.measure import ControlRequest, ip_info


def body(**fields: object) -> bytes:
    return orjson.dumps(fields)


def test_good_request() -> None:
    request = parse_request(
        body(
            http_request="https://example.lab.censorwatch.test:8443/a?b=c",
            http_request_headers={"User-Agent": ["probe/1"], "Cookie": ["secret"], "Accept": ["*/*"]},
            tcp_connect=["127.0.0.1:8443", "127.0.0.1:8443", "[::1]:8443"],
        ),
        max_endpoints=8,
    )
    assert (request.scheme, request.host, request.port) == ("https", "example.lab.censorwatch.test", 8443)
    assert request.headers == {"User-Agent": "probe/1", "Accept": "*/*"}  # only what oohelperd forwards
    assert request.endpoints == ("127.0.0.1:8443", "[::1]:8443")


def test_default_ports() -> None:
    assert parse_request(body(http_request="http://a.test/"), 8).port == 80
    assert parse_request(body(http_request="https://a.test/"), 8).port == 443


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "JSON object"),
        (body(), "http_request"),
        (body(http_request=""), "http_request"),
        (body(http_request="ftp://a.test/"), "http:// or https://"),
        (body(http_request="http:///nohost"), "http:// or https://"),
        (body(http_request="http://a.test:99999/"), "valid URL"),
        (body(http_request="http://a.test/", tcp_connect="127.0.0.1:80"), "list"),
        (body(http_request="http://a.test/", tcp_connect=["a.test:80"]), "ip:port"),
        (body(http_request="http://a.test/", tcp_connect=["127.0.0.1"]), "ip:port"),
        (body(http_request="http://a.test/", tcp_connect=["127.0.0.1:0"]), "ip:port"),
        (body(http_request="http://a.test/", tcp_connect=[f"127.0.0.{i}:80" for i in range(9)]), "at most 8"),
        (body(http_request="http://a.test/", http_request_headers=["x"]), "object"),
        (body(http_request="http://a.test/", http_request_headers={"User-Agent": [1]}), "list of strings"),
        (body(http_request="http://a.test/", http_request_headers={"User-Agent": ["a\r\nX: y"]}), "bad value"),
    ],
)
def test_bad_requests(raw: bytes, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        parse_request(raw, max_endpoints=8)


@pytest.mark.parametrize(
    ("error", "failure"),
    [
        (TimeoutError(), failures.GENERIC_TIMEOUT),
        (ConnectionRefusedError(errno.ECONNREFUSED, "refused"), failures.CONNECTION_REFUSED),
        (ConnectionResetError(errno.ECONNRESET, "reset"), failures.CONNECTION_RESET),
        (OSError(errno.ENETUNREACH, "net"), failures.NETWORK_UNREACHABLE),
        (OSError(errno.EHOSTUNREACH, "host"), failures.HOST_UNREACHABLE),
        (ssl.SSLEOFError(), failures.EOF_ERROR),
        (asyncio.IncompleteReadError(b"", 10), failures.EOF_ERROR),
        (ssl.SSLError(1, "handshake failure"), failures.SSL_FAILED_HANDSHAKE),
        (ValueError("odd"), "unknown_failure: ValueError"),
    ],
)
def test_failure_strings(error: BaseException, failure: str) -> None:
    assert failure_of(error) == failure


def test_certificate_failures() -> None:
    unknown = ssl.SSLCertVerificationError(1, "unable to get local issuer certificate")
    unknown.verify_code = 20
    mismatch = ssl.SSLCertVerificationError(1, "Hostname mismatch")
    mismatch.verify_code = 62
    expired = ssl.SSLCertVerificationError(1, "certificate has expired")
    expired.verify_code = 10
    assert failure_of(unknown) == failures.SSL_UNKNOWN_AUTHORITY
    assert failure_of(mismatch) == failures.SSL_INVALID_HOSTNAME
    assert failure_of(expired) == failures.SSL_INVALID_CERTIFICATE


def test_dns_failures_keep_the_legacy_helper_names() -> None:
    assert dns_failure_of(dns.resolver.NXDOMAIN()) == "dns_name_error"
    assert dns_failure_of(dns.resolver.NoAnswer()) is None
    assert dns_failure_of(dns.resolver.NoNameservers()) == "dns_server_failure"


@pytest.mark.parametrize(
    ("html", "title"),
    [
        (b"<html><head><TITLE>Hello &amp; bye</TITLE>", "Hello &amp; bye"),  # entities stay raw, as OONI keeps them
        (b"<title></title>", ""),
        (b"no title here", ""),
        (b"<title>" + b"x" * 600 + b"</title>", ""),  # longer than measurexlite's 512 characters
        ("<title>Доступ</title>".encode(), "Доступ"),
    ],
)
def test_title(html: bytes, title: str) -> None:
    assert extract_title(html) == title


def test_canonical_header_names() -> None:
    assert canonical_header("content-type") == "Content-Type"
    assert canonical_header("X-FORWARDED-FOR") == "X-Forwarded-For"


def test_ip_info_flags() -> None:
    request = ControlRequest("http://a.test/", "http", "a.test", 80, {}, ("127.0.0.5:80", "93.184.215.14:80"))
    info = ip_info(request, ["127.0.0.5", "93.184.215.15"])
    assert info == {
        "127.0.0.5": {"asn": 0, "flags": 1 | 2 | 4},
        "93.184.215.14": {"asn": 0, "flags": 1},
        "93.184.215.15": {"asn": 0, "flags": 2},
    }
