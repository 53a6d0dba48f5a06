"""`censorwatch collector`: receive measurements from probes (OONI collector API)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import duckdb
import typer

from censorwatch.cli.apps import app
from censorwatch.cli.common import DbOption, db_path, fail
from censorwatch.services.collector.limits import DEFAULT_MAX_BODY
from censorwatch.store import Store


def read_token(path: Path) -> str:
    try:
        token = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        fail(f"cannot read the token file {path}: {error}")
    if not token:
        fail(f"the token file {path} is empty")
    return token


@app.command("collector")
def collector(
    listen: Annotated[str, typer.Option("--listen", help="HOST:PORT to serve on (port 0: any free port).")] = (
        "127.0.0.1:8765"
    ),
    db: DbOption = None,
    spool: Annotated[
        Path | None, typer.Option("--spool", help="Spool directory (default: collector-spool/ next to the DB).")
    ] = None,
    token_file: Annotated[
        Path | None,
        typer.Option("--token-file", help="Require `Authorization: Bearer <token>` for submissions (private use)."),
    ] = None,
    max_body: Annotated[
        int, typer.Option("--max-body", min=1024, help="Largest request body accepted, in bytes.")
    ] = DEFAULT_MAX_BODY,
) -> None:
    """Serve the OONI collector API: open a report, submit measurements, close it.

    Every accepted measurement is fsync'd to the spool before the reply and stored in the DB;
    the submitter's address is never stored or logged."""
    # Here, not at the top: the web server's imports would slow every other command's start.
    from censorwatch.services.collector.engine import CollectorConfig
    from censorwatch.services.collector.server import parse_listen, serve

    try:
        host, port = parse_listen(listen)
    except ValueError as error:
        fail(str(error))
    store = db_path(db)
    config = CollectorConfig(
        db_path=store,
        spool_dir=spool if spool is not None else store.parent / "collector-spool",
        token=read_token(token_file) if token_file is not None else None,
        max_body=max_body,
    )

    try:
        # The collector must be the DB's one writer: say so now rather than from inside the server.
        Store(config.db_path).close()
    except duckdb.Error as error:
        fail(f"cannot open the store {config.db_path}: {error}")

    def ready(url: str) -> None:
        # One machine-readable line on stdout: tests and scripts learn the port from it.
        print(f"collector listening on {url}", flush=True)

    try:
        serve(config, host, port, on_ready=ready)
    except OSError as error:
        fail(f"cannot listen on {listen}: {error}")
