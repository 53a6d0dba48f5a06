"""`censorwatch geoip update [FILE|URL]`: install the IP-to-network database the probe uses to
find its country and network (probe/geoip_db.py says which database and why)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import httpx
import typer

from censorwatch.cli.apps import app
from censorwatch.cli.common import fail, stderr
from censorwatch.cli.output import show
from censorwatch.probe.geoip_db import (
    DEFAULT_URL,
    LICENCE,
    GeoipDb,
    GeoipError,
    build,
    default_db_path,
    open_source,
    parse_ip2asn,
)

geoip_app = typer.Typer(help="The IP-to-network database for the probe's country and network.",
                        no_args_is_help=True)
app.add_typer(geoip_app, name="geoip")

MAX_DOWNLOAD = 256 * 1024 * 1024  # the real file is ~10 MB compressed; a bound against a runaway server

DbFileOption = Annotated[
    Path | None,
    typer.Option("--geoip-db", help="Database file (default: $CENSORWATCH_GEOIP_DB, else the user data dir)."),
]


def _download(url: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        with httpx.stream("GET", url, follow_redirects=True, timeout=60.0) as response:
            if response.status_code != 200:
                fail(f"{url} answered HTTP {response.status_code}")
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_DOWNLOAD:
                    fail(f"{url} sent more than {MAX_DOWNLOAD} bytes: not the expected database")
                chunks.append(chunk)
    except httpx.HTTPError as error:
        fail(f"cannot download {url}: {type(error).__name__}: {error}")
    return b"".join(chunks)


@geoip_app.command("update")
def update(
    source: Annotated[
        str | None, typer.Argument(help=f"ip2asn-combined.tsv(.gz) file or URL (default: {DEFAULT_URL}).")
    ] = None,
    geoip_db: DbFileOption = None,
) -> None:
    """Download (or read) IPtoASN's ip2asn-combined.tsv.gz and install it for `censorwatch probe`."""
    origin = source or DEFAULT_URL
    if origin.startswith(("http://", "https://")):
        stderr.print(f"downloading {origin}", highlight=False)
        data = _download(origin)
    else:
        try:
            data = Path(origin).read_bytes()
        except OSError as error:
            fail(f"cannot read {origin}: {error.strerror or error}")
    target = geoip_db if geoip_db is not None else default_db_path()
    try:
        count = build(parse_ip2asn(open_source(data)), target, Path(origin).name if "://" not in origin else origin)
    except (GeoipError, OSError) as error:
        fail(f"cannot build the database: {error}")
    stderr.print(f"installed {count} address ranges in {target} ({LICENCE})", highlight=False)


@geoip_app.command("info")
def info(geoip_db: DbFileOption = None) -> None:
    """Where the database is, where it came from, and how many ranges it holds."""
    target = geoip_db if geoip_db is not None else default_db_path()
    try:
        db = GeoipDb(target)
    except GeoipError as error:
        fail(f"{error}; install one with `censorwatch geoip update`")
    show(f"{target}: {len(db)} ranges, from {db.meta.get('source')} built {db.meta.get('built')}\n"
         f"licence: {db.meta.get('licence')}", highlight=False)
