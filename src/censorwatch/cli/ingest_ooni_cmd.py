"""`censorwatch ingest ooni`: OONI measurement files, raw-layout trees, or OONI's API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import duckdb
import typer

from censorwatch.cli.apps import ingest_app
from censorwatch.cli.common import DbOption, db_path, fail, progress, stderr
from censorwatch.model.measurement import parse_time
from censorwatch.sources.ingest import ingest_records
from censorwatch.sources.ooni_api import DEFAULT_API, ApiError, ApiQuery, OoniApi, api_records
from censorwatch.sources.ooni_files import RawRecord, expand_paths, read_records
from censorwatch.store import Store


def _file_records(paths: list[Path]) -> Iterator[RawRecord]:
    for path in expand_paths(paths):
        yield from read_records(path)


@ingest_app.command("ooni")
def ingest_ooni(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files (.json, .jsonl[.gz], .yaml) or trees.")] = None,
    db: DbOption = None,
    from_api: Annotated[bool, typer.Option("--from-api", help="Fetch from OONI's public API.")] = False,
    probe_cc: Annotated[str | None, typer.Option("--probe-cc")] = None,
    since: Annotated[str | None, typer.Option("--since", help="YYYY-MM-DD")] = None,
    until: Annotated[str | None, typer.Option("--until", help="YYYY-MM-DD")] = None,
    test_name: Annotated[str | None, typer.Option("--test-name")] = None,
    api_url: Annotated[str, typer.Option("--api-url")] = DEFAULT_API,
    rate: Annotated[float, typer.Option("--rate", help="API requests per second.")] = 2.0,
    retries: Annotated[int, typer.Option("--retries", min=0, help="Retries per API request.")] = 5,
) -> None:
    """Read OONI measurements, give each our verdict and store it (idempotent)."""
    if from_api:
        if paths:
            fail("give either PATHs or --from-api, not both")
        if not (probe_cc and since and until):
            fail("--from-api needs --probe-cc, --since and --until")
        if parse_time(since) is None or parse_time(until) is None:
            fail("--since and --until must be dates (YYYY-MM-DD)")
    elif not paths:
        fail("give measurement files or directories, or --from-api")
    else:
        missing = [str(p) for p in paths if not p.exists()]
        if missing:
            fail(f"no such file or directory: {', '.join(missing)}")
    try:
        store = Store(db_path(db))
    except (duckdb.Error, OSError) as error:
        fail(f"cannot open the store {db_path(db)}: {error}")
    api = OoniApi(api_url, requests_per_second=rate, retries=retries) if from_api else None
    try:
        with progress("ingesting", unit="measurements") as reporter:
            if api is not None:
                records = api_records(api, ApiQuery(str(probe_cc).upper(), str(since), str(until), test_name))
            else:
                records = _file_records(paths or [])
            stats = ingest_records(store, records, "ooni", on_progress=reporter.advance)
    except ApiError as error:
        fail(str(error))
    finally:
        store.close()
        if api is not None:
            api.close()
    for line in stats.summary_lines():
        stderr.print(line, highlight=False, markup=False)
