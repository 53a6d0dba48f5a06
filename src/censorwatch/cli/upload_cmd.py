"""`censorwatch upload`: submit the measurements a probe could not deliver to its collector."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from censorwatch.cli.apps import app
from censorwatch.cli.collector_cmd import read_token
from censorwatch.cli.common import DbOption, fail, stderr
from censorwatch.probe.collector_client import flush_spool
from censorwatch.probe.consent import consent_missing, current_consent
from censorwatch.probe.spool import UploadSpool, default_spool_dir


@app.command("upload")
def upload(
    collector: Annotated[
        str | None,
        typer.Option("--collector", help="Collector URL (default: the one each measurement was meant for)."),
    ] = None,
    spool: Annotated[
        Path | None,
        typer.Option("--spool", help="Upload spool (default: upload-spool/ next to --db, else ~/.local/share/...)."),
    ] = None,
    db: DbOption = None,
    token_file: Annotated[
        Path | None, typer.Option("--token-file", help="Bearer token for a private collector.")
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", min=0.1, help="Seconds per request.")] = 30.0,
) -> None:
    """Flush the upload spool: an entry is removed only once the collector acknowledged it."""
    # Publishing is what the consent is about (probe/consent.py): a spool filled by another user, or kept from
    # before a new consent text, is sent only by someone who agreed to the current one.
    if current_consent() is None:
        fail(consent_missing("censorwatch upload publishes nothing"))
    directory = spool if spool is not None else default_spool_dir(db)
    if not directory.is_dir():
        stderr.print(f"nothing to upload: {directory} does not exist", highlight=False)
        return
    token = read_token(token_file) if token_file is not None else None
    stats = flush_spool(UploadSpool(directory), collector=collector, token=token, timeout=timeout)
    stderr.print(
        f"uploaded {stats.sent}, still spooled {stats.kept}, rejected {stats.rejected} (in {directory / 'rejected'})",
        highlight=False,
    )
    for error in stats.errors[:5]:
        stderr.print(f"  {error}", highlight=False)
    if stats.kept:
        fail("the collector could not be reached for every measurement; run `censorwatch upload` again later", 1)
