"""HTTP/1.1 GET with h11 over our own connection (df-001 httpt), so we choose the address and see
the raw bytes: redirects followed up to a cap, body kept up to a cap (its declared length
recorded), every read bounded in time so a trickling or hostile server cannot stall a run."""

from __future__ import annotations

import asyncio
import base64
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import h11

from censorwatch.model import failures
from censorwatch.model.failure_map import failure_of
from censorwatch.probe.config import ProbeConfig
from censorwatch.probe.endpoints import close, open_stream, start_tls

REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
READ_CHUNK = 64 * 1024
MAX_HEADER_BYTES = 64 * 1024

Resolve = Callable[[str], Awaitable[list[str]]]


class FetchFailure(Exception):
    def __init__(self, failure: str) -> None:
        super().__init__(failure)
        self.failure = failure


@dataclass
class FetchResult:
    requests: list[dict[str, Any]] = field(default_factory=list)  # newest first, as OONI orders them
    failure: str | None = None


def encode_body(data: bytes) -> str | dict[str, str]:
    """OONI df-001: UTF-8 bodies as strings, anything else as {"format": "base64", "data": ...}."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return {"format": "base64", "data": base64.b64encode(data).decode("ascii")}


async def next_event(conn: h11.Connection, reader: asyncio.StreamReader, timeout: float) -> Any:
    """The next h11 event, reading from `reader` as needed, each read bounded by `timeout`."""
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            return event
        data = await asyncio.wait_for(reader.read(READ_CHUNK), timeout)
        conn.receive_data(data)


async def _connect(
    host: str, port: int, tls: bool, addrs: list[str], config: ProbeConfig
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    last: BaseException | None = None
    for ip in addrs:
        try:
            reader, writer = await open_stream(ip, port, config)
        except (OSError, TimeoutError) as error:
            last = error
            continue
        if tls:
            try:
                await start_tls(writer, host, config)
            except BaseException:
                writer.transport.abort()
                raise
        return reader, writer
    raise last if last is not None else FetchFailure(failures.DNS_NO_ANSWER)


async def _exchange(url: str, addrs: list[str], config: ProbeConfig, t0: float) -> dict[str, Any]:
    parts = urlsplit(url)
    tls = parts.scheme == "https"
    host = parts.hostname or ""
    port = parts.port or (443 if tls else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = [
        ("Host", parts.netloc.rpartition("@")[2]),
        ("User-Agent", config.user_agent),
        ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
        ("Accept-Language", "en-US;q=0.8,en;q=0.5"),
        ("Accept-Encoding", "identity"),
        ("Connection", "close"),
    ]
    entry: dict[str, Any] = {
        "request": {"url": url, "method": "GET", "headers": dict(headers), "body": "", "tor": {"is_tor": False}},
        "response": None,
        "failure": None,
        "t0": round(time.monotonic() - t0, 6),
    }
    reader, writer = await _connect(host, port, tls, addrs, config)
    try:
        conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEADER_BYTES)
        writer.write(conn.send(h11.Request(method="GET", target=target, headers=headers)) or b"")
        writer.write(conn.send(h11.EndOfMessage()) or b"")
        await asyncio.wait_for(writer.drain(), config.timeout)
        event = await next_event(conn, reader, config.timeout)
        while isinstance(event, h11.InformationalResponse):
            event = await next_event(conn, reader, config.timeout)
        if not isinstance(event, h11.Response):
            raise FetchFailure(failures.EOF_ERROR)
        body = bytearray()
        truncated = False
        if event.status_code not in REDIRECT_CODES:
            while True:
                part = await next_event(conn, reader, config.timeout)
                if isinstance(part, h11.Data):
                    room = config.body_cap - len(body)
                    body += part.data[:room]
                    if len(part.data) > room:
                        truncated = True
                        break
                elif isinstance(part, h11.EndOfMessage | h11.ConnectionClosed):
                    break
        header_list = [[_str(k), _str(v)] for k, v in event.headers.raw_items()]
        response_headers: dict[str, str] = {}
        for name, value in header_list:
            response_headers.setdefault(name, value)
        entry["response"] = {
            "code": event.status_code,
            "headers": response_headers,
            "headers_list": header_list,
            "body": encode_body(bytes(body)),
            "body_is_truncated": truncated,
            "x_declared_length": _declared_length(response_headers),
        }
    finally:
        writer.transport.abort()
        await close(writer)
    entry["t"] = round(time.monotonic() - t0, 6)
    return entry


def _str(raw: bytes) -> str:
    return raw.decode("latin-1")


def _declared_length(headers: dict[str, str]) -> int | None:
    for name, value in headers.items():
        if name.lower() == "content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _location(entry: dict[str, Any]) -> str | None:
    response = entry.get("response") or {}
    for name, value in (response.get("headers") or {}).items():
        if name.lower() == "location":
            return str(value)
    return None


async def fetch(url: str, first_addrs: list[str], resolve: Resolve, config: ProbeConfig, t0: float) -> FetchResult:
    result = FetchResult()
    addrs = first_addrs
    for hop in range(config.max_redirects + 1):
        failed_entry: dict[str, Any] = {"request": {"url": url, "method": "GET"}, "response": None, "failure": None}
        try:
            if hop > 0:
                addrs = await resolve(urlsplit(url).hostname or "")
            entry = await asyncio.wait_for(_exchange(url, addrs, config, t0), config.step_deadline())
        except FetchFailure as error:
            failed_entry["failure"] = error.failure
        except h11.RemoteProtocolError:
            failed_entry["failure"] = failures.HTTP_INVALID_RESPONSE
        except (OSError, TimeoutError, ssl.SSLError, EOFError) as error:
            failed_entry["failure"] = failure_of(error)
        else:
            result.requests.insert(0, entry)
            location = _location(entry)
            if entry["response"]["code"] in REDIRECT_CODES and location:
                url = urljoin(url, location)
                if urlsplit(url).scheme not in ("http", "https"):
                    result.failure = failures.HTTP_UNEXPECTED_REDIRECT_URL
                    return result
                continue
            return result
        result.requests.insert(0, failed_entry)
        result.failure = failed_entry["failure"]
        return result
    result.failure = failures.HTTP_TOO_MANY_REDIRECTS
    return result
