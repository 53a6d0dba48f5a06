"""The steps OONI's app tests (telegram, whatsapp, signal, facebook_messenger) are made of, as
probe-cli's urlgetter performs them: a bare TCP connect to HOST:PORT, and an HTTP(S) transaction
(GET or POST, redirects followed). Each step writes what it saw in OONI's formats into a `Trace`
of its own (df-002 queries, df-005 tcp_connect, df-006 tls_handshakes, df-001 requests, a short
df-008 network_events), so steps can run concurrently and be merged in a stable order.

`connect_to` (from an endpoints section) sends the connection for HOST:PORT to HOST2:PORT2 while
the URL, the Host header and the TLS server name stay the real ones, as curl's --connect-to
does: a lab or a mirror stands in for the service and the measurement still names the service.
HOST2 is resolved through the probe's resolver, so DNS interference on it is still measured."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import h11

from censorwatch.model import failures
from censorwatch.model.failure_map import failure_of
from censorwatch.probe.config import ProbeConfig
from censorwatch.probe.dns_lookup import is_ip_literal, lookup
from censorwatch.probe.endpoints import close, endpoint, open_stream, start_tls, tls_details
from censorwatch.probe.endpoints_file import EndpointsError
from censorwatch.probe.http_fetch import encode_body, next_event

# df-008 operation names, which OONI's tools (and analysis/apps_common.blocking_of) read.
RESOLVE = "resolve"
CONNECT = "connect"
TLS_HANDSHAKE = "tls_handshake"
HTTP_ROUND_TRIP = "http_round_trip"

MAX_REDIRECTS = 10  # urlgetter's cap
BODY_SNAPSHOT = 1 << 19  # urlgetter keeps 512 KiB of a body
ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
ACCEPT_LANGUAGE = "en-US,en;q=0.9"
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})

HostPort = tuple[str, int]
ConnectTo = Mapping[HostPort, HostPort]


@dataclass
class Trace:
    """What one step (or a whole measurement, once merged) saw, in OONI's archival formats."""

    t0: float
    queries: list[dict[str, Any]] = field(default_factory=list)
    tcp_connect: list[dict[str, Any]] = field(default_factory=list)
    tls_handshakes: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)  # newest first, as OONI orders them
    network_events: list[dict[str, Any]] = field(default_factory=list)

    def now(self) -> float:
        return round(time.monotonic() - self.t0, 6)

    def event(self, operation: str, failure: str | None, address: str | None = None) -> None:
        entry: dict[str, Any] = {"failure": failure, "operation": operation, "t": self.now()}
        if address is not None:
            entry.update(address=address, proto="tcp")
        self.network_events.append(entry)

    def merge(self, other: Trace) -> None:
        self.queries += other.queries
        self.tcp_connect += other.tcp_connect
        self.tls_handshakes += other.tls_handshakes
        self.requests += other.requests
        self.network_events += other.network_events

    def test_keys(self) -> dict[str, Any]:
        """urlgetter's keys: a multi-step test leaves the top-level failure unset (probe-cli merges
        only the lists); each test adds its own verdict keys."""
        return {
            "agent": "redirect",
            "failed_operation": None,
            "failure": None,
            "network_events": self.network_events,
            "queries": self.queries,
            "requests": self.requests,
            "tcp_connect": self.tcp_connect,
            "tls_handshakes": self.tls_handshakes,
        }


@dataclass(frozen=True)
class Outcome:
    """How a step ended: failure None is success; failed_operation says which step broke."""

    failure: str | None = None
    failed_operation: str | None = None
    status_code: int | None = None


class StepFailure(Exception):
    def __init__(self, failure: str, operation: str) -> None:
        super().__init__(failure)
        self.failure = failure
        self.operation = operation


# --- the endpoints section --------------------------------------------------------------------------------------


def _where(test_name: str, key: str) -> str:
    return f"endpoints section {test_name!r}: key {key!r}"


def string_list(section: Mapping[str, Any], key: str, test_name: str) -> tuple[str, ...]:
    value = section.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise EndpointsError(f"{_where(test_name, key)} must be a non-empty list of strings")
    return tuple(v.strip() for v in value)


def port_list(section: Mapping[str, Any], key: str, test_name: str) -> tuple[int, ...]:
    value = section.get(key)
    if (not isinstance(value, list) or not value
            or not all(isinstance(p, int) and not isinstance(p, bool) and 0 < p < 65536 for p in value)):
        raise EndpointsError(f"{_where(test_name, key)} must be a non-empty list of TCP ports (1-65535)")
    return tuple(value)


def http_url(section: Mapping[str, Any], key: str, test_name: str, schemes: tuple[str, ...] = ("https",)) -> str:
    value = section.get(key)
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in schemes or not parts.hostname:
        raise EndpointsError(f"{_where(test_name, key)} must be a {' or '.join(schemes)} URL")
    try:
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError as error:
        raise EndpointsError(f"{_where(test_name, key)}: {error}") from error
    return str(value)


def _host_port(text: str, where: str) -> HostPort:
    host, sep, port = text.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise EndpointsError(f"{where}: {text!r} is not HOST:PORT")
    return host.lower(), int(port)


def connect_to_map(section: Mapping[str, Any], test_name: str, key: str = "connect_to") -> dict[HostPort, HostPort]:
    """The optional `connect_to` mapping {"HOST:PORT": "HOST2:PORT2"}."""
    value = section.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise EndpointsError(f"{_where(test_name, key)} must be a mapping of \"HOST:PORT\" to \"HOST2:PORT2\"")
    where = _where(test_name, key)
    mapping: dict[HostPort, HostPort] = {}
    for source, target in value.items():
        if not isinstance(source, str) or not isinstance(target, str):
            raise EndpointsError(f"{where} must map strings to strings")
        mapping[_host_port(source, where)] = _host_port(target, where)
    return mapping


# --- steps ------------------------------------------------------------------------------------------------------


async def _addresses(host: str, config: ProbeConfig, trace: Trace) -> list[str]:
    if is_ip_literal(host):
        return [host.strip("[]")]
    trace.event("resolve_start", None)
    found = await lookup(host, config, trace.t0)
    trace.queries += found.queries
    trace.event("resolve_done", found.failure)
    if found.failure is not None or not found.addrs:
        raise StepFailure(found.failure or failures.DNS_NO_ANSWER, RESOLVE)
    return found.addrs


async def _connect(host: str, port: int, config: ProbeConfig, trace: Trace,
                   connect_to: ConnectTo) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Every address in turn until one accepts, as Go's dialer does; each attempt is a tcp_connect row."""
    target_host, target_port = connect_to.get((host.lower().strip("[]"), port), (host, port))
    addresses = await _addresses(target_host, config, trace)
    failure = failures.GENERIC_TIMEOUT
    for ip in addresses:
        row: dict[str, Any] = {"ip": ip, "port": target_port,
                               "status": {"blocked": None, "failure": None, "success": True}}
        try:
            reader, writer = await open_stream(ip, target_port, config)
        except (OSError, TimeoutError) as error:
            failure = failure_of(error)
            row["status"].update(failure=failure, success=False)
            row["t"] = trace.now()
            trace.tcp_connect.append(row)
            trace.event(CONNECT, failure, endpoint(ip, target_port))
            continue
        row["t"] = trace.now()
        trace.tcp_connect.append(row)
        trace.event(CONNECT, None, endpoint(ip, target_port))
        return reader, writer
    raise StepFailure(failure, CONNECT)


async def tcp_connect(host: str, port: int, config: ProbeConfig, trace: Trace,
                      connect_to: ConnectTo | None = None) -> Outcome:
    """urlgetter's tcpconnect://HOST:PORT: resolve, connect, close."""
    try:
        async with asyncio.timeout(config.step_deadline()):
            _, writer = await _connect(host, port, config, trace, connect_to or {})
    except StepFailure as error:
        return Outcome(error.failure, error.operation)
    except TimeoutError:
        return Outcome(failures.GENERIC_TIMEOUT, CONNECT)
    await close(writer)
    return Outcome()


def _tls_entry(writer: asyncio.StreamWriter, address: str, server_name: str, started: float) -> dict[str, Any]:
    entry: dict[str, Any] = {"address": address, "cipher_suite": "", "failure": None, "negotiated_protocol": "",
                             "no_tls_verify": False, "peer_certificates": [], "server_name": server_name,
                             "t0": started, "tls_version": ""}
    entry.update(tls_details(writer))
    return entry


async def _handshake(writer: asyncio.StreamWriter, server_name: str, config: ProbeConfig, trace: Trace) -> None:
    peer = writer.get_extra_info("peername")
    address = endpoint(str(peer[0]), int(peer[1])) if peer else ""
    started = trace.now()
    trace.event("tls_handshake_start", None)
    try:
        await start_tls(writer, server_name, config)
    except (OSError, TimeoutError, ssl.SSLError, EOFError) as error:
        failure = failure_of(error)
        entry = _tls_entry(writer, address, server_name, started)
        entry.update(failure=failure, t=trace.now())
        trace.tls_handshakes.append(entry)
        trace.event("tls_handshake_done", failure)
        raise StepFailure(failure, TLS_HANDSHAKE) from error
    entry = _tls_entry(writer, address, server_name, started)
    entry["t"] = trace.now()
    trace.tls_handshakes.append(entry)
    trace.event("tls_handshake_done", None)


def _request_headers(url: str, method: str, config: ProbeConfig) -> list[tuple[str, str]]:
    parts = urlsplit(url)
    headers = [("Accept", ACCEPT), ("Accept-Language", ACCEPT_LANGUAGE), ("Host", parts.netloc.rpartition("@")[2]),
               ("User-Agent", config.user_agent)]
    if method != "GET":
        headers.append(("Content-Length", "0"))  # an empty body, as Go sends for a nil-body POST
    headers.append(("Connection", "close"))  # one request per connection: no keep-alive to wait for
    return headers


async def _round_trip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, url: str, method: str,
                      headers: list[tuple[str, str]], config: ProbeConfig) -> dict[str, Any]:
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    conn = h11.Connection(h11.CLIENT)
    writer.write(conn.send(h11.Request(method=method, target=target, headers=headers)) or b"")
    writer.write(conn.send(h11.EndOfMessage()) or b"")
    await asyncio.wait_for(writer.drain(), config.timeout)
    event = await next_event(conn, reader, config.timeout)
    while isinstance(event, h11.InformationalResponse):
        event = await next_event(conn, reader, config.timeout)
    if not isinstance(event, h11.Response):
        raise StepFailure(failures.EOF_ERROR, HTTP_ROUND_TRIP)
    cap = min(config.body_cap, BODY_SNAPSHOT)
    body = bytearray()
    truncated = False
    while True:
        part = await next_event(conn, reader, config.timeout)
        if isinstance(part, h11.Data):
            body += part.data
            if len(body) > cap:
                del body[cap:]
                truncated = True
                break
        elif isinstance(part, h11.EndOfMessage | h11.ConnectionClosed):
            break
    header_list = [[name.decode("latin-1"), value.decode("latin-1")] for name, value in event.headers.raw_items()]
    by_name: dict[str, str] = {}
    for name, value in header_list:
        by_name.setdefault(name, value)
    return {"body": encode_body(bytes(body)), "body_is_truncated": truncated, "code": event.status_code,
            "headers": by_name, "headers_list": header_list}


async def _exchange(url: str, method: str, config: ProbeConfig, trace: Trace, connect_to: ConnectTo) -> dict[str, Any]:
    """One request: connect (through connect_to), TLS for https, the round trip. Always a df-001 entry."""
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    host = parts.hostname or ""
    headers = _request_headers(url, method, config)
    entry: dict[str, Any] = {
        "failure": None,
        "request": {"body": "", "body_is_truncated": False, "headers": dict(headers),
                    "headers_list": [list(h) for h in headers], "method": method,
                    "tor": {"exit_ip": None, "exit_name": None, "is_tor": False}, "url": url, "x_transport": "tcp"},
        "response": None,
        "t0": trace.now(),
    }
    writer: asyncio.StreamWriter | None = None
    trace.event("http_transaction_start", None)
    try:
        async with asyncio.timeout(config.step_deadline()):
            reader, writer = await _connect(host, parts.port or (443 if secure else 80), config, trace, connect_to)
            if secure:
                await _handshake(writer, host, config, trace)
            try:
                entry["response"] = await _round_trip(reader, writer, url, method, headers, config)
            except h11.ProtocolError as error:
                raise StepFailure(failures.HTTP_INVALID_RESPONSE, HTTP_ROUND_TRIP) from error
            except (OSError, TimeoutError, ssl.SSLError, EOFError) as error:
                raise StepFailure(failure_of(error), HTTP_ROUND_TRIP) from error
    except StepFailure as error:
        entry["failure"] = error.failure
        entry["failed_operation"] = error.operation
    except TimeoutError:
        entry["failure"] = failures.GENERIC_TIMEOUT
        entry["failed_operation"] = HTTP_ROUND_TRIP if writer is not None else CONNECT
    finally:
        if writer is not None:
            # Abort, not close: after a failed TLS upgrade wait_closed() only returns at its timeout.
            writer.transport.abort()
    entry["t"] = trace.now()
    trace.event("http_transaction_done", entry["failure"])
    return entry


async def http_transaction(url: str, config: ProbeConfig, trace: Trace, method: str = "GET",
                           connect_to: ConnectTo | None = None, follow_redirects: bool = True) -> Outcome:
    """urlgetter's HTTP(S) transaction. Success means an HTTP response, whatever its status code
    (the app specs judge transport failures only)."""
    for _ in range(MAX_REDIRECTS + 1):
        entry = await _exchange(url, method, config, trace, connect_to or {})
        operation = entry.pop("failed_operation", None)
        trace.requests.insert(0, entry)
        if entry["failure"] is not None:
            return Outcome(entry["failure"], operation)
        response = entry["response"]
        location = next((v for k, v in response["headers"].items() if k.lower() == "location"), None)
        if not follow_redirects or response["code"] not in REDIRECT_CODES or not location:
            return Outcome(status_code=response["code"])
        url = urljoin(url, location)
        if urlsplit(url).scheme not in ("http", "https"):
            return Outcome(failures.HTTP_UNEXPECTED_REDIRECT_URL, HTTP_ROUND_TRIP, response["code"])
        method = "GET" if response["code"] in (301, 302, 303) else method
    return Outcome(failures.HTTP_TOO_MANY_REDIRECTS, HTTP_ROUND_TRIP)


def url_for(host: str, port: int, scheme: str = "http", path: str = "/") -> str:
    """scheme://host[:port]/path, the default port left out (probe-cli's telegram writes http://IP/ and
    http://IP:443/)."""
    default = 443 if scheme == "https" else 80
    literal = f"[{host}]" if ":" in host else host
    return f"{scheme}://{literal}{'' if port == default else f':{port}'}{path}"
