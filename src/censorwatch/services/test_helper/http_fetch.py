"""The control's GET (oohelperd http.go): redirects followed up to a cap, body counted up to a limit (not kept),
title taken from the first bytes."""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import h11

from censorwatch.model import failures
from censorwatch.model.failure_map import failure_of

REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
TITLE_WINDOW = 1 << 20  # bytes kept only to find <title>
# measurexlite GetTitle: case-insensitive, 1..512 characters without "<"; entities stay as they are.
TITLE_RE = re.compile(rb"(?i)<title>([^<]{1,512})</title>")
READ_CHUNK = 64 * 1024

Resolve = Callable[[str], Awaitable[list[str]]]


class FetchError(Exception):
    def __init__(self, failure: str) -> None:
        super().__init__(failure)
        self.failure = failure


@dataclass
class HttpResult:
    failure: str | None = None
    status_code: int = -1
    body_length: int = -1
    headers: dict[str, str] = field(default_factory=dict)
    title: str = ""

    def as_json(self) -> dict[str, object]:
        return {
            "body_length": self.body_length,
            "discovered_h3_endpoint": "",
            "failure": self.failure,
            "headers": dict(self.headers),
            "status_code": self.status_code,
            "title": self.title,
        }


def canonical_header(name: str) -> str:
    """Go's textproto canonical form, which oohelperd's JSON carries ("content-type" -> "Content-Type")."""
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def extract_title(prefix: bytes) -> str:
    match = TITLE_RE.search(prefix)
    return match.group(1).decode("utf-8", "replace") if match else ""


@dataclass(frozen=True)
class FetchSettings:
    headers: dict[str, str]
    context: ssl.SSLContext
    connect_timeout: float
    max_redirects: int
    body_limit: int


async def _connect(
    host: str, port: int, tls: bool, resolve: Resolve, settings: FetchSettings
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    addrs = await resolve(host)
    if not addrs:
        raise FetchError(failures.DNS_NO_ANSWER)
    last: BaseException | None = None
    for ip in addrs:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(ip, port), settings.connect_timeout)
        except (OSError, TimeoutError) as error:
            last = error
            continue
        if tls:
            await writer.start_tls(settings.context, server_hostname=host)
        return reader, writer
    assert last is not None
    raise last


async def _next_event(conn: h11.Connection, reader: asyncio.StreamReader) -> object:
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            return event
        data = await reader.read(READ_CHUNK)
        conn.receive_data(data)  # b"" tells h11 the peer closed


async def _one_request(url: str, resolve: Resolve, settings: FetchSettings) -> tuple[h11.Response, int, bytes]:
    """Returns the response, the body length counted (capped) and the title window."""
    parts = urlsplit(url)
    tls = parts.scheme == "https"
    host = parts.hostname or ""
    port = parts.port or (443 if tls else 80)
    reader, writer = await _connect(host, port, tls, resolve, settings)
    try:
        conn = h11.Connection(h11.CLIENT)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host_header = parts.netloc.rpartition("@")[2]
        request_headers = [("Host", host_header), ("Accept-Encoding", "identity"), ("Connection", "close")]
        request_headers += [(name, value) for name, value in settings.headers.items()]
        writer.write(conn.send(h11.Request(method="GET", target=target, headers=request_headers)) or b"")
        writer.write(conn.send(h11.EndOfMessage()) or b"")
        await writer.drain()
        event = await _next_event(conn, reader)
        while isinstance(event, h11.InformationalResponse):
            event = await _next_event(conn, reader)
        if not isinstance(event, h11.Response):
            raise FetchError(failures.EOF_ERROR)
        response = event
        if response.status_code in REDIRECT_CODES:
            return response, 0, b""
        length = 0
        window = bytearray()
        while length < settings.body_limit:
            event = await _next_event(conn, reader)
            if isinstance(event, h11.Data):
                length += len(event.data)
                if len(window) < TITLE_WINDOW:
                    window += event.data[: TITLE_WINDOW - len(window)]
            elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                break
        return response, min(length, settings.body_limit), bytes(window)
    finally:
        writer.transport.abort()


async def fetch(url: str, resolve: Resolve, settings: FetchSettings) -> HttpResult:
    try:
        for _ in range(settings.max_redirects + 1):
            response, length, window = await _one_request(url, resolve, settings)
            location = _header(response, b"location")
            if response.status_code in REDIRECT_CODES and location is not None:
                url = urljoin(url, location)
                if urlsplit(url).scheme not in ("http", "https"):
                    return HttpResult(failure=failures.HTTP_UNEXPECTED_REDIRECT_URL)
                continue
            headers: dict[str, str] = {}
            for name, value in response.headers:
                headers.setdefault(canonical_header(name.decode("latin-1")), value.decode("latin-1"))
            return HttpResult(None, response.status_code, length, headers, extract_title(window))
        return HttpResult(failure=failures.HTTP_TOO_MANY_REDIRECTS)
    except FetchError as error:
        return HttpResult(failure=error.failure)
    except h11.RemoteProtocolError:
        return HttpResult(failure=failures.HTTP_INVALID_RESPONSE)
    except (OSError, TimeoutError, ssl.SSLError, EOFError) as error:
        return HttpResult(failure=failure_of(error))


def _header(response: h11.Response, name: bytes) -> str | None:
    for key, value in response.headers:
        if key == name:
            return value.decode("latin-1")
    return None
