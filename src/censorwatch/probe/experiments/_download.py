"""One timed download for the throttling test: TCP connect, TLS handshake (timed on its own),
an HTTP/1.1 GET with h11, and the body read until a byte cap or a time cap, whichever comes
first. A download stopped by the time cap while bytes were still arriving is a measurement of a
slow flow, not a failure (ooni/probe-cli docs/design/dd-007-throttling.md)."""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import h11

from censorwatch.model import failures
from censorwatch.model.failure_map import failure_of
from censorwatch.probe.config import ProbeConfig
from censorwatch.probe.endpoints import close, endpoint, open_stream
from censorwatch.probe.http_fetch import next_event

MAX_HEADER_BYTES = 64 * 1024


@dataclass(frozen=True)
class Plan:
    """What one download fetches and how. `server_name` None sends no SNI; `verify` False is for
    the decoy, whose name cannot match the target's certificate."""

    kind: str  # target / control / decoy
    round: int
    url: str
    ip: str
    server_name: str | None
    verify: bool
    max_bytes: int
    max_seconds: float


class _Failed(Exception):
    def __init__(self, operation: str, failure: str) -> None:
        super().__init__(failure)
        self.operation = operation
        self.failure = failure


def _no_verify_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["http/1.1"])
    return context


def _port(url: str) -> tuple[bool, int]:
    parts = urlsplit(url)
    tls = parts.scheme == "https"
    return tls, parts.port or (443 if tls else 80)


def _request(url: str, config: ProbeConfig) -> h11.Request:
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return h11.Request(method="GET", target=target, headers=[
        ("Host", parts.netloc.rpartition("@")[2]),
        ("User-Agent", config.user_agent),
        ("Accept", "*/*"),
        ("Accept-Encoding", "identity"),  # compressed bodies would make byte counts incomparable
        ("Connection", "close"),
    ])


async def _handshake(writer: asyncio.StreamWriter, plan: Plan, config: ProbeConfig) -> None:
    context = config.tls_context if plan.verify else _no_verify_context()
    try:
        await asyncio.wait_for(
            writer.start_tls(context, server_hostname=plan.server_name, ssl_handshake_timeout=config.timeout + 5.0),
            config.timeout,
        )
    except (OSError, TimeoutError, ssl.SSLError, EOFError) as error:
        raise _Failed("tls_handshake", failure_of(error)) from error


async def _transfer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, plan: Plan,
                    config: ProbeConfig, entry: dict[str, Any]) -> None:
    """Fills status_code, bytes, seconds, time_capped and complete in `entry`."""
    conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEADER_BYTES)
    writer.write(conn.send(_request(plan.url, config)) or b"")
    writer.write(conn.send(h11.EndOfMessage()) or b"")
    sent = time.monotonic()
    deadline = sent + plan.max_seconds
    try:
        await asyncio.wait_for(writer.drain(), config.timeout)
        event = await next_event(conn, reader, min(config.timeout, plan.max_seconds))
        while isinstance(event, h11.InformationalResponse):
            event = await next_event(conn, reader, min(config.timeout, plan.max_seconds))
    except (OSError, TimeoutError, ssl.SSLError, EOFError) as error:
        raise _Failed("http_round_trip", failure_of(error)) from error
    except h11.ProtocolError as error:
        raise _Failed("http_round_trip", failures.HTTP_INVALID_RESPONSE) from error
    if not isinstance(event, h11.Response):
        raise _Failed("http_round_trip", failures.EOF_ERROR)
    entry["status_code"] = event.status_code
    entry["ttfb"] = round(time.monotonic() - sent, 6)
    if not 200 <= event.status_code < 300:
        raise _Failed("http_round_trip", "http_unexpected_status_code")
    received = 0
    try:
        while received < plan.max_bytes:
            left = deadline - time.monotonic()
            if left <= 0:
                entry["time_capped"] = True
                break
            wait = min(left, config.timeout)
            try:
                part = await next_event(conn, reader, wait)
            except TimeoutError:
                if wait >= config.timeout:
                    raise  # a stall before the cap: the flow stopped, it did not just slow down
                entry["time_capped"] = True
                break
            if isinstance(part, h11.Data):
                received += len(part.data)
            elif isinstance(part, h11.EndOfMessage | h11.ConnectionClosed):
                entry["complete"] = True
                break
    except (OSError, TimeoutError, ssl.SSLError, EOFError) as error:
        entry["bytes"] = received
        raise _Failed("read", failure_of(error)) from error
    except h11.ProtocolError as error:
        entry["bytes"] = received
        raise _Failed("read", failures.HTTP_INVALID_RESPONSE) from error
    entry["bytes"] = received
    if received == 0 and entry["time_capped"]:
        raise _Failed("read", failures.GENERIC_TIMEOUT)  # nothing arrived at all: not a slow flow
    entry["complete"] = entry["complete"] or received >= plan.max_bytes
    entry["seconds"] = round(min(time.monotonic(), deadline) - sent, 6)


async def download(plan: Plan, config: ProbeConfig, t0: float) -> dict[str, Any]:
    """One entry of test_keys.downloads; never raises for what the network does."""
    tls, port = _port(plan.url)
    entry: dict[str, Any] = {
        "kind": plan.kind,
        "round": plan.round,
        "url": plan.url,
        "address": endpoint(plan.ip, port),
        "server_name": plan.server_name if tls else None,
        "tls_handshake_time": None,
        "status_code": None,
        "ttfb": None,
        "bytes": 0,
        "seconds": None,
        "kbit_per_s": None,
        "time_capped": False,
        "complete": False,
        "failure": None,
        "failed_operation": None,
        "t0": round(time.monotonic() - t0, 6),
    }
    writer: asyncio.StreamWriter | None = None
    try:
        try:
            reader, writer = await open_stream(plan.ip, port, config)
        except (OSError, TimeoutError) as error:
            raise _Failed("connect", failure_of(error)) from error
        if tls:
            started = time.monotonic()
            await _handshake(writer, plan, config)
            entry["tls_handshake_time"] = round(time.monotonic() - started, 6)
        await _transfer(reader, writer, plan, config, entry)
    except _Failed as failed:
        entry["failure"], entry["failed_operation"] = failed.failure, failed.operation
    finally:
        if writer is not None:
            writer.transport.abort()
            await close(writer)
    if entry["failure"] is None and entry["seconds"]:
        entry["kbit_per_s"] = round(entry["bytes"] * 8 / entry["seconds"] / 1000, 3)
    entry["t"] = round(time.monotonic() - t0, 6)
    return entry
