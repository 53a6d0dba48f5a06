"""throttling cases: a download server (which is also the control) behind shaping proxies in user
space. The proxy reads the ClientHello's server name, as the 2021 Russian throttler did, and
paces the flows of the censored source that name the throttled site to 150 kbit/s in both
directions (Xue et al., IMC 2021: 130-150 kbit/s), or holds its handshake back; other names
and sources go at full speed. A second proxy is slow for everyone, whatever the name: a slow
server, not throttling. No root needed.

Not done: a `tc` variant. tc on loopback can shape by address and port, not by server name,
and a flow shaped by address is slow under the decoy name too, which the analysis rightly
cannot tell from a slow server."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from censorwatch.lab.app_lab import AppCase, AppLabEnv
from censorwatch.lab.origin import Conn, Handler, open_streams, peek_client_hello, read_head
from censorwatch.lab.pki import LAB_DOMAIN
from censorwatch.lab.sni import server_name

TEST_NAMES = ("throttling",)
RATE_BPS = 150_000  # Twitter in Russia, March 2021
HANDSHAKE_DELAY_S = 1.0
BODY_BYTES = 64 * 1024  # small: a throttled sample is cut by the time cap, a fast one takes milliseconds
MAX_BODY = 4 << 20
PACED_SLICE = 1400  # about one segment, so pacing is smooth at 150 kbit/s
CHUNK = 64 * 1024
# Each write becomes a TLS record, which the client can only read whole: 16 KiB records would
# arrive one per 0.9 s at 150 kbit/s, so a short sample would hold none.
BODY_WRITE = 2 * 1024
LAB_SECTION = {"samples": 3, "max_bytes": BODY_BYTES, "max_seconds": 0.8, "decoy_server_name": ""}


def lab_name(stem: str) -> str:
    return f"{stem}.{LAB_DOMAIN}"


@dataclass(frozen=True)
class Shaping:
    rate_bps: float | None = None  # None: full speed
    first_flight_delay: float = 0.0  # seconds the server's first bytes (ServerHello) are held


FULL_SPEED = Shaping()


async def _serve_bytes(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """GET /download?bytes=N: N bytes of body, then close."""
    try:
        head = await read_head(reader)
        if head is None:
            return
        target = head[":request"].split(" ")[1] if head[":request"].count(" ") >= 2 else "/"
        try:
            size = min(int(parse_qs(urlsplit(target).query).get("bytes", [str(BODY_BYTES)])[0]), MAX_BODY)
        except ValueError:
            size = BODY_BYTES
        writer.write(f"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {size}\r\n"
                     "Connection: close\r\n\r\n".encode())
        block = bytes(range(256)) * (BODY_WRITE // 256)
        while size > 0:
            writer.write(block[: min(size, BODY_WRITE)])
            size -= BODY_WRITE
            await writer.drain()
    except (OSError, ssl.SSLError):
        writer.transport.abort()
    else:
        await _close_gracefully(writer)


async def _close_gracefully(writer: asyncio.StreamWriter) -> None:
    """close, not abort: what is still buffered must reach the peer."""
    writer.close()
    with contextlib.suppress(OSError, ssl.SSLError, TimeoutError):
        await asyncio.wait_for(writer.wait_closed(), 5.0)


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, shaping: Shaping) -> None:
    loop = asyncio.get_running_loop()
    started: float | None = None
    sent = 0
    first = True
    try:
        while True:
            data = await reader.read(CHUNK if shaping.rate_bps is None else PACED_SLICE)
            if not data:
                return
            if first and shaping.first_flight_delay:
                await asyncio.sleep(shaping.first_flight_delay)
            first = False
            if shaping.rate_bps is not None:
                started = loop.time() if started is None else started
                sent += len(data)
                await asyncio.sleep(max(0.0, started + sent * 8 / shaping.rate_bps - loop.time()))
            writer.write(data)
            await writer.drain()
    except (OSError, ssl.SSLError):
        return


def shaping_proxy(backend: tuple[str, int], choose: dict[tuple[bool, str | None], Shaping],
                  everyone: Shaping = FULL_SPEED) -> Handler:
    """Relays to `backend`; the flow's shaping is `choose[(censored, SNI)]`, else `everyone`."""

    async def handle(conn: Conn) -> None:
        name = server_name(await peek_client_hello(conn.sock))
        shaping = choose.get((conn.censored, name), everyone)
        client_reader, client_writer = await open_streams(conn, None)
        upstream_reader, upstream_writer = await asyncio.open_connection(*backend)
        down = asyncio.ensure_future(_pump(upstream_reader, client_writer, shaping))
        up = asyncio.ensure_future(_pump(client_reader, upstream_writer, Shaping(shaping.rate_bps)))
        try:
            await asyncio.wait({down, up}, return_when=asyncio.FIRST_COMPLETED)
            if down.done():
                await _close_gracefully(client_writer)
        finally:
            for task in (down, up):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            upstream_writer.transport.abort()

    return handle


async def start(env: AppLabEnv) -> list[AppCase]:
    stems = {"control": "throttling-control", "open": "throttling-open", "sni": "throttling-sni",
             "handshake": "throttling-handshake", "slow": "throttling-slow"}
    names = {key: lab_name(stem) for key, stem in stems.items()}
    backend_ip, named_ip, slow_ip = env.new_address(), env.new_address(), env.new_address()
    context = env.server_context(sorted(names.values()), "throttling-backend")
    backend = await asyncio.start_server(_serve_bytes, backend_ip, 0, ssl=context)
    backend_port = int(backend.sockets[0].getsockname()[1])

    async def close_backend() -> None:
        backend.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(backend.wait_closed(), 2.0)

    env.on_close.append(close_backend)
    by_name: dict[tuple[bool, str | None], Shaping] = {
        (True, names["sni"]): Shaping(rate_bps=RATE_BPS),
        (True, names["handshake"]): Shaping(first_flight_delay=HANDSHAKE_DELAY_S),
    }
    named_port = env.listen(named_ip, 0, shaping_proxy((backend_ip, backend_port), by_name))
    slow_port = env.listen(slow_ip, 0, shaping_proxy((backend_ip, backend_port), {}, Shaping(rate_bps=RATE_BPS)))
    env.zone.honest[names["control"]] = backend_ip
    for key in ("open", "sni", "handshake"):
        env.zone.honest[names[key]] = named_ip
    env.zone.honest[names["slow"]] = slow_ip
    section = {**LAB_SECTION,
               "control_url": f"https://{names['control']}:{backend_port}/download?bytes={BODY_BYTES}"}

    def url(key: str, port: int) -> str:
        return f"https://{names[key]}:{port}/download?bytes={BODY_BYTES}"

    def case(name: str, key: str, port: int, verdict: str, blocking: str | None, description: str) -> AppCase:
        return AppCase(name, "throttling", dict(section), verdict, blocking, False, description, (url(key, port),))

    return [
        case("throttling-not-throttled", "open", named_port, "ok", None,
             "a name the shaper does not throttle: as fast as the control"),
        case("throttling-by-sni", "sni", named_port, "anomaly", "throttling",
             "flows naming this server are paced to 150 kbit/s for the censored source; the control and a "
             "decoy name to the same address go at full speed (confirmed once the store holds earlier slow runs)"),
        case("throttling-handshake", "handshake", named_port, "anomaly", "throttling",
             f"the ServerHello is held {HANDSHAKE_DELAY_S:g} s for flows naming this server; the body is fast"),
        case("throttling-slow-server", "slow", slow_port, "ok", None,
             "a server slow for everyone and every name (150 kbit/s): slow, not throttled"),
    ]
