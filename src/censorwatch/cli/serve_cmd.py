"""`censorwatch serve`: the web explorer and JSON API on the store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import duckdb
import typer

from censorwatch.cli.apps import app
from censorwatch.cli.common import DbOption, db_path, fail, stderr


def parse_listen(value: str) -> tuple[str, int]:
    """HOST:PORT, [v6]:PORT or :PORT (loopback)."""
    host, sep, port_text = value.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise typer.BadParameter(f"--listen wants HOST:PORT, not {value!r}")
    host = host.strip("[]") or "127.0.0.1"
    return host, int(port_text)


def refresh_if_stale(path: Path) -> None:
    """Bring the web aggregates up to date before serving; never stops the server from starting
    (a missing store, or one another program is writing, is served as it is)."""
    from censorwatch.web.aggregates import needs_refresh, refresh_aggregates

    if not path.exists():
        return
    try:
        con = duckdb.connect(str(path))
    except duckdb.Error as error:
        stderr.print(f"[yellow]aggregates not refreshed[/]: {error}", highlight=False)
        return
    try:
        if needs_refresh(con):
            stderr.print("refreshing the explorer's aggregate tables...", highlight=False)
            seconds = refresh_aggregates(con)
            stderr.print(f"aggregates refreshed in {seconds:.1f} s", highlight=False)
    finally:
        con.close()


@app.command()
def serve(
    db: DbOption = None,
    listen: Annotated[str, typer.Option("--listen", help="HOST:PORT to listen on.")] = "127.0.0.1:8080",
    refresh: Annotated[
        bool,
        typer.Option("--refresh/--no-refresh", help="Rebuild stale aggregate tables at start (needs write access)."),
    ] = True,
    private: Annotated[
        bool,
        typer.Option("--private", help="Serve the archive's private collections, with contacts unmasked "
                                       "(only where every reader may see them)."),
    ] = False,
) -> None:
    """Start the web explorer and the JSON API (/api/v1) on the store."""
    import uvicorn

    from censorwatch.web.app import create_app

    host, port = parse_listen(listen)
    path = db_path(db)
    if refresh:
        refresh_if_stale(path)
    if not path.exists():
        stderr.print(f"no store at {path} yet: the home page explains how to fill it", highlight=False)
    stderr.print(f"censorwatch explorer on http://{host}:{port}/ (store {path})", highlight=False)
    if private:
        stderr.print("serving private archive collections, unmasked", highlight=False)
    try:
        uvicorn.run(create_app(path, private=private), host=host, port=port, log_level="warning")
    except OSError as error:
        fail(f"cannot listen on {listen}: {error}")
