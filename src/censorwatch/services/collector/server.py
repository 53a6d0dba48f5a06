"""Run the collector under uvicorn with logging that cannot record who submitted.

Access logs are off (they would name the client address), uvicorn's own loggers stay at INFO or
above (its per-connection TRACE lines carry addresses), and proxy headers are not trusted for
anything but scrubbing.
"""

from __future__ import annotations

import asyncio
import ipaddress
import signal
import socket
import sys
from collections.abc import Callable
from typing import Any

import uvicorn

from censorwatch.services.collector.app import create_app
from censorwatch.services.collector.engine import CollectorConfig

LOG_CONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}},
    "loggers": {
        "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "uvicorn.error": {"level": "INFO"},
        "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
        "censorwatch": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
    },
}


def parse_listen(text: str) -> tuple[str, int]:
    """HOST:PORT, with [v6]:PORT for IPv6."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ValueError(f"--listen expects HOST:PORT, got {text!r}")
    host = host.strip("[]")
    number = int(port)
    if number > 65535:
        raise ValueError(f"port out of range in {text!r}")
    return host, number


def bind(host: str, port: int) -> socket.socket:
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:
        family = socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted sockets only when it is set,
    # and without it every small response waits ~40 ms for a delayed ACK (measured).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def _ignore(number: int, frame: object) -> None:
    return None


def serve(config: CollectorConfig, host: str, port: int, on_ready: Callable[[str], None] | None = None) -> None:
    """Blocks until SIGINT/SIGTERM; then drains the spool writer and the store before returning."""
    sock = bind(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    url = f"http://{shown}:{bound_port}"
    uv_config = uvicorn.Config(
        create_app(config),
        access_log=False,
        log_config=LOG_CONFIG,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=30,
        lifespan="on",
    )
    server = uvicorn.Server(uv_config)

    async def run() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.02)
        if server.started and on_ready is not None:
            on_ready(url)
        try:
            await task
        except SystemExit:
            return  # uvicorn exits this way when start-up failed; its log already says why

    # uvicorn handles SIGINT/SIGTERM while serving (graceful drain), then re-raises the signal to
    # the handler that was installed before: make that a no-op so a drained collector exits 0.
    previous = {number: signal.signal(number, _ignore) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        asyncio.run(run())
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        sock.close()
    if not server.started:
        sys.exit(1)

