"""`censorwatch ingest ooni`: OONI measurement files, raw-layout trees, or OONI's API."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Annotated

import duckdb
import typer

from censorwatch.cli.apps import ingest_app
from censorwatch.cli.common import DbOption, db_path, fail, progress, stderr
from censorwatch.cli.stop_signals import STOP_FORMS, STOPS
from censorwatch.model.measurement import parse_time
from censorwatch.sources.ingest import IngestStats, ingest_files, ingest_records
from censorwatch.sources.ooni_aggregation import Aggregation
from censorwatch.sources.ooni_api import DEFAULT_API, ApiError, ApiQuery, OoniApi, api_records
from censorwatch.sources.ooni_files import RawRecord
from censorwatch.store import Store


def _advancing(records: Iterable[RawRecord], advance: Callable[[int], None]) -> Iterator[RawRecord]:
    # One tick per measurement fetched (each is an HTTP round trip), not per stored batch.
    for record in records:
        yield record
        advance(1)


def _ooni_count(api: OoniApi, query: ApiQuery) -> Aggregation | None:
    """OONI's own count of what the query covers, or None: without it the ingest runs, just without a total."""
    try:
        aggregation = api.count_measurements(query)
    except ApiError as error:
        reason = " ".join(str(error).split())  # one log line, whatever the server put in its body
        stderr.print(f"no total from OONI's aggregation, going on without one: {reason}", highlight=False,
                     markup=False, soft_wrap=True)
        return None
    days = len(aggregation.days)
    line = f"OONI's aggregation counts {aggregation.total} measurements over {days} day{'' if days == 1 else 's'}"
    if aggregation.malformed_rows:
        line += f" (a lower bound: {aggregation.malformed_rows} malformed rows skipped, {aggregation.problems[0]})"
    stderr.print(line, highlight=False, markup=False, soft_wrap=True)
    return aggregation


# An API run stores every this many measurements: each took a round trip (half a second at the
# default rate), so an interrupted run loses at most this many fetches; storing them takes
# milliseconds.
API_BATCH = 100


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
    reread: Annotated[
        bool,
        typer.Option("--reread", help="Read every file again, even those an earlier run into this store read to "
                     "the end and that have not changed since (by default they are skipped)."),
    ] = False,
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
    query = ApiQuery(str(probe_cc).upper(), str(since), str(until), test_name) if from_api else None
    stats = IngestStats()
    counted: Aggregation | None = None
    stopped: str | None = None  # why the run ended early; what it stored stays stored
    try:
        # `kill` (SIGTERM) ends the run as Ctrl-C does: what was read is stored first.
        with STOPS.catching(signal.SIGINT, signal.SIGTERM):
            if api is not None and query is not None:
                counted = _ooni_count(api, query)
                with progress("ingesting", total=counted.total if counted else None, unit="measurements") as bar:
                    records = _advancing(api_records(api, query, held=store.held_uids), STOPS.then_check(bar.advance))
                    ingest_records(store, records, "ooni", batch_rows=API_BATCH, stats=stats)
            else:
                with progress("ingesting", unit="measurements") as bar:
                    stats = ingest_files(store, paths or [], "ooni", on_progress=STOPS.then_check(bar.advance),
                                         reread=reread)
    except ApiError as error:
        stopped = str(error)
    except STOP_FORMS as error:
        if not STOPS.surfaced_as(error):
            raise
        stopped = "interrupted"
    finally:
        store.close()
        if api is not None:
            api.close()
    if api is not None or stopped is None:  # an interrupted file run has no counts to show
        for line in stats.summary_lines():
            stderr.print(line, highlight=False, markup=False, soft_wrap=True)
    if counted is not None:
        stderr.print(f"OONI counted {counted.total} measurements for this query; "
                     f"fetched {stats.read - stats.not_fetched}", highlight=False, markup=False, soft_wrap=True)
    if stopped is not None:
        stopped += ("; what was fetched is stored: run the same command again to go on (what is stored is not "
                    "fetched again)" if api is not None else
                    "; what was stored stays stored: run the same command again to go on (files read to the "
                    "end are not read again)")
        fail(stopped, code=130 if stopped.startswith("interrupted") else 2)
