"""`censorwatch events detect|list|watch`: blocking events from stored verdicts, and alerts
posted to a webhook as they come (docs/events.md)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Annotated, Any

import typer
from rich.table import Table

from censorwatch.analysis.events.listing import Filters, flat, list_events
from censorwatch.analysis.events.run import detect
from censorwatch.cli.apps import app
from censorwatch.cli.common import DbOption, day_range, existing_store, fail, parse_day, progress, stderr
from censorwatch.cli.output import CSV, JSON, TableJsonOrCsv, show, write_csv, write_json
from censorwatch.services.alerts import PassResult, Retry, WatchOptions, Webhook, stamp, watch
from censorwatch.store import Store

events_app = typer.Typer(help="Blocking events: onset and end per network and country.", no_args_is_help=True)
app.add_typer(events_app, name="events")

CSV_FIELDS = (
    "target", "probe_cc", "probe_asn", "blocking", "start", "end", "start_observed", "confidence", "networks",
    "measurements_before", "measurements_before_anomalous", "measurements_during",
    "measurements_during_anomalous", "measurements_confirmed", "evidence_first", "evidence_last", "detected",
)


@events_app.command("detect")
def detect_cmd(
    since: Annotated[str | None, typer.Option("--since", help="YYYY-MM-DD: ignore measurements before.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="YYYY-MM-DD (exclusive).")] = None,
    full: Annotated[bool, typer.Option("--full", help="Recompute everything instead of continuing.")] = False,
    db: DbOption = None,
) -> None:
    """Find onsets and ends of blocking; a second run reads only what is new."""
    start, end = day_range(since, until)
    if start and end and start >= end:
        fail("--since must be before --until")
    path = existing_store(db)
    with Store(path) as store, progress("events", unit="measurements") as bar:
        summary = detect(store.con, start, end, full=full, progress=bar.advance)
    figures = summary.as_dict()
    stderr.print(
        f"{figures['mode']} run {figures['run_id']}: read {figures['rows_read']} measurements of "
        f"{figures['series_continued'] + figures['series_new'] + figures['series_recomputed']} series "
        f"({figures['series_continued']} continued, {figures['series_new']} new, "
        f"{figures['series_recomputed']} recomputed for late or changed measurements); "
        f"{figures['network_events']} network events ({figures['ongoing']} ongoing), "
        f"{figures['country_events']} country-wide",
        highlight=False,
    )
    unused = {name: figures[name] for name in ("failures", "not_analysed", "unknown_verdict", "unknown_layer",
                                               "no_time") if figures[name]}
    if unused:
        stderr.print("not used as evidence: " + ", ".join(f"{name} {count}" for name, count in unused.items()),
                     highlight=False)


def _table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="Blocking events")
    for name in ("target", "country", "network", "blocking", "start", "end", "confidence", "blocked", "evidence"):
        table.add_column(name)
    for row in rows:
        counts = row["measurements"]
        table.add_row(
            row["target"], row["probe_cc"],
            row["probe_asn"] or f"country ({len(row['networks'])} networks)", row["blocking"],
            row["start"] + ("" if row["start_observed"] else " (or before)"), row["end"] or "ongoing",
            f"{row['confidence']:.2f}", f"{counts['during_anomalous']}/{counts['during']}",
            row["evidence"]["first"] or "",
        )
    return table


@events_app.command("list")
def list_cmd(
    country: Annotated[str | None, typer.Option("--country", help="Two-letter country code.")] = None,
    target: Annotated[str | None, typer.Option("--target", help="Domain (or input) of the target.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="YYYY-MM-DD: events still on at or after.")] = None,
    ongoing: Annotated[bool, typer.Option("--ongoing", help="Only events not ended.")] = False,
    fmt: TableJsonOrCsv = "table",
    db: DbOption = None,
) -> None:
    """Detected events (run `events detect` first)."""
    if country is not None and (len(country) != 2 or not country.isalpha()):
        fail(f"--country must be a two-letter country code, not {country!r}")
    filters = Filters(country, target, parse_day(since, "--since"), ongoing)
    with Store(existing_store(db), read_only=True) as store:
        rows = list_events(store.con, filters)
    if fmt == JSON:
        write_json(rows, indent=True)
    elif fmt == CSV:
        write_csv([flat(row) for row in rows], CSV_FIELDS)
    else:
        show(_table(rows))
    if not rows:
        stderr.print("no events match (has `censorwatch events detect` run on this store?)", highlight=False)


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """Ctrl-C or SIGTERM ends the watch after the alert being posted (its delivery is recorded
    first); a second one stops at once, as Ctrl-C does elsewhere."""
    stop = threading.Event()

    def handle(number: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        stderr.print("stopping after the current alert (again to stop now)", highlight=False)

    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = {number: signal.signal(number, handle) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _report(number: int, result: PassResult) -> None:
    stderr.print(f"{stamp()} pass {number}: {result.line()}", highlight=False, markup=False)
    for problem in result.failed[:5]:
        stderr.print(f"  not delivered: {problem}", highlight=False, markup=False)
    if len(result.failed) > 5:
        stderr.print(f"  ... and {len(result.failed) - 5} more", highlight=False)


@events_app.command("watch")
def watch_cmd(
    webhook: Annotated[str, typer.Option("--webhook", help="URL to POST each alert to, as JSON.")],
    interval: Annotated[float, typer.Option("--interval", min=1.0, help="Seconds between passes.")] = 300.0,
    once: Annotated[bool, typer.Option("--once", help="One pass, then exit (1 if an alert was not delivered).")]
    = False,
    country: Annotated[str | None, typer.Option("--country", help="Only events of this country.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="YYYY-MM-DD: only events still on at or after "
                                              "(skips the history on a first run).")] = None,
    run_detection: Annotated[bool, typer.Option("--detect/--no-detect", help="Run `events detect` before each "
                                                "pass (default), or only post what the store holds.")] = True,
    timeout: Annotated[float, typer.Option("--timeout", min=0.1, help="Seconds per HTTP request.")] = 10.0,
    retries: Annotated[int, typer.Option("--retries", min=0, help="Retries per alert within a pass "
                                         "(backoff 1, 2, 4 ... s).")] = 3,
    db: DbOption = None,
) -> None:
    """Detect, then POST each new event (alert "start"), each end ("end") and each withdrawn event
    ("retracted") once; deliveries are recorded in the store, so a restart posts nothing twice."""
    if country is not None and (len(country) != 2 or not country.isalpha()):
        fail(f"--country must be a two-letter country code, not {country!r}")
    if not webhook.startswith(("http://", "https://")):
        fail(f"the webhook must be an http:// or https:// URL, not {webhook!r}")
    options = WatchOptions(existing_store(db), Filters(country, None, parse_day(since, "--since")), run_detection)
    with _stop_on_signals() as stop:
        hook = Webhook(webhook, timeout=timeout, retry=Retry(attempts=retries + 1), stop=stop)
        try:
            last = watch(options, hook, interval, once, stop, _report)
        finally:
            hook.close()
    if once and (last.left or last.failed or last.store_error):
        raise typer.Exit(1)
