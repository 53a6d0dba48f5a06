"""TCP connect and TLS handshake to one endpoint (oohelperd tcptls.go): TLS runs on the connection the
TCP step opened, with the URL's host as SNI."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass

from censorwatch.model.failure_map import failure_of


@dataclass(frozen=True)
class EndpointResult:
    tcp_failure: str | None
    tls_failure: str | None  # meaningful only when a handshake was asked for
    tls_attempted: bool

    def tcp_json(self) -> dict[str, object]:
        return {"status": self.tcp_failure is None, "failure": self.tcp_failure}

    def tls_json(self, server_name: str) -> dict[str, object]:
        return {"server_name": server_name, "status": self.tls_failure is None, "failure": self.tls_failure}


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError, TimeoutError, ssl.SSLError):
        await asyncio.wait_for(writer.wait_closed(), 1.0)


async def probe_endpoint(
    ip: str,
    port: int,
    server_name: str | None,
    context: ssl.SSLContext,
    connect_timeout: float,
    tls_timeout: float,
) -> EndpointResult:
    """server_name None: TCP only (http URL)."""
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(ip, port), connect_timeout)
    except (OSError, TimeoutError) as error:
        return EndpointResult(failure_of(error), None, server_name is not None)
    if server_name is None:
        await _close(writer)
        return EndpointResult(None, None, False)
    try:
        # Our own deadline fires first: asyncio's handshake timeout would surface as ConnectionAbortedError.
        await asyncio.wait_for(
            writer.start_tls(context, server_hostname=server_name, ssl_handshake_timeout=tls_timeout + 5.0),
            tls_timeout,
        )
    except (OSError, TimeoutError, ssl.SSLError, EOFError) as error:
        writer.transport.abort()
        return EndpointResult(None, failure_of(error), True)
    await _close(writer)
    return EndpointResult(None, None, True)
