"""`censorwatch test-helper`: serve the web-connectivity control API (OONI test-helper shape)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Annotated

import typer

from censorwatch.cli.apps import app
from censorwatch.cli.common import fail, stderr


@app.command("test-helper")
def test_helper(
    listen: Annotated[str, typer.Option("--listen", help="HOST:PORT to serve on, e.g. 127.0.0.1:8080.")],
    resolver: Annotated[
        str | None, typer.Option("--resolver", help="DNS server HOST:PORT (default: the system resolver).")
    ] = None,
    ca_file: Annotated[
        Path | None, typer.Option("--ca-file", help="Extra CA (PEM) trusted besides certifi's roots.")
    ] = None,
) -> None:
    """Answer probes' control requests: what an uncensored network sees for a URL (DNS, TCP, TLS, HTTP)."""
    # Here, not at the top: dnspython loads aioquic, and with it cryptography, which would slow
    # every other command's start.
    from censorwatch.services.test_helper import HelperConfig, TestHelperServer
    from censorwatch.services.test_helper.config import parse_hostport

    try:
        host, port = parse_hostport(listen, "--listen")
        resolver_address = parse_hostport(resolver, "--resolver") if resolver is not None else None
    except ValueError as error:
        fail(str(error))
    if ca_file is not None and not ca_file.is_file():
        fail(f"--ca-file {ca_file} is not a readable file")
    config = HelperConfig(resolver=resolver_address, ca_file=ca_file)
    try:
        server = TestHelperServer(config)
    except OSError as error:  # an unreadable or invalid CA file
        fail(f"cannot load --ca-file: {error}")

    async def run() -> None:
        url = await server.start(host, port)
        print(f"test helper listening on {url}", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await server.close()

    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run())
    except OSError as error:
        fail(f"cannot listen on {listen}: {error}")
    stderr.print("test helper stopped")
