"""TCP connect (df-005) and TLS handshake with SNI (df-006) to every address DNS gave."""

from __future__ import annotations

import asyncio
import base64
import ssl
import time
from typing import Any

from censorwatch.model.failure_map import failure_of
from censorwatch.probe.config import ProbeConfig


def endpoint(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


async def open_stream(
    ip: str, port: int, config: ProbeConfig
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    local = (config.source_address, 0) if config.source_address else None
    return await asyncio.wait_for(asyncio.open_connection(ip, port, local_addr=local), config.timeout)


async def start_tls(writer: asyncio.StreamWriter, server_name: str, config: ProbeConfig) -> None:
    # Our own deadline first: asyncio's handshake timeout surfaces as a less precise error.
    await asyncio.wait_for(
        writer.start_tls(config.tls_context, server_hostname=server_name,
                         ssl_handshake_timeout=config.timeout + 5.0),
        config.timeout,
    )


async def close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    try:
        await asyncio.wait_for(writer.wait_closed(), 1.0)
    except (OSError, TimeoutError, ssl.SSLError):
        pass
    except asyncio.CancelledError:
        # The transport may cancel its own close future: nothing left to wait for. But when it is
        # our task being cancelled (Ctrl-C), swallowing it would leave the run waiting forever.
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise


def tls_details(writer: asyncio.StreamWriter) -> dict[str, Any]:
    """df-006's tls_version, cipher_suite, negotiated_protocol and peer_certificates of a TLS stream
    ({} when the stream is not TLS)."""
    ssl_object = writer.get_extra_info("ssl_object")
    if not isinstance(ssl_object, ssl.SSLObject):
        return {}
    cipher = ssl_object.cipher()
    certificate = ssl_object.getpeercert(binary_form=True)
    return {
        "tls_version": ssl_object.version() or "",
        "cipher_suite": cipher[0] if cipher else "",
        "negotiated_protocol": ssl_object.selected_alpn_protocol() or "",
        "peer_certificates": (
            [{"format": "base64", "data": base64.b64encode(certificate).decode()}] if certificate else []
        ),
    }


async def measure_endpoint(
    ip: str, port: int, server_name: str | None, config: ProbeConfig, t0: float
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(tcp_connect entry, tls_handshakes entry or None for plain http)."""
    started = time.monotonic() - t0
    tcp: dict[str, Any] = {"ip": ip, "port": port, "status": {"success": True, "failure": None, "blocked": None}}
    try:
        _, writer = await open_stream(ip, port, config)
    except (OSError, TimeoutError) as error:
        tcp["status"].update(success=False, failure=failure_of(error))
        tcp["t"] = round(time.monotonic() - t0, 6)
        return tcp, None
    tcp["t"] = round(time.monotonic() - t0, 6)
    if server_name is None:
        await close(writer)
        return tcp, None
    tls: dict[str, Any] = {
        "address": endpoint(ip, port),
        "server_name": server_name,
        "failure": None,
        "t0": round(started, 6),
    }
    try:
        await start_tls(writer, server_name, config)
        tls.update(tls_details(writer))
    except (OSError, TimeoutError, ssl.SSLError, EOFError) as error:
        tls["failure"] = failure_of(error)
        writer.transport.abort()
    else:
        await close(writer)
    tls["t"] = round(time.monotonic() - t0, 6)
    return tcp, tls
