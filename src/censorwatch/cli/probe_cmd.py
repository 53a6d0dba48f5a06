"""`censorwatch probe`: Web Connectivity for URLs from arguments or a Citizen Lab test list."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import duckdb
import typer
from rich.table import Table

from censorwatch.analysis.store_sink import StoreSink
from censorwatch.cli.apps import app
from censorwatch.cli.common import DbOption, db_path, fail, progress, stderr
from censorwatch.cli.output import TableJsonOrCsv, emit
from censorwatch.probe.collector_client import collector_sink
from censorwatch.probe.config import ProbeConfig, parse_host_port
from censorwatch.probe.results_file import ResultsFile, repair_and_read_inputs
from censorwatch.probe.runner import ProbeRunner, RunSummary, Sink
from censorwatch.sources.test_lists import TestListError, is_probeable_url, read_test_list
from censorwatch.store import Store


def _targets(urls: list[str], test_list: Path | None, skipped: list[str]) -> list[str]:
    """Inputs in order, de-duplicated; rows that are not http(s) URLs are reported, not fatal."""
    seen: dict[str, None] = {}

    def candidates() -> Iterator[str]:
        yield from urls
        if test_list is not None:
            yield from (entry.url for entry in read_test_list(test_list))

    for url in candidates():
        if is_probeable_url(url):
            seen.setdefault(url, None)
        else:
            skipped.append(url)
    return list(seen)


def _config(
    resolver: str | None, test_helper: str | None, ca_file: Path | None, source_address: str | None,
    timeout: float, probe_cc: str, probe_asn: str,
) -> ProbeConfig:
    try:
        resolver_addr = parse_host_port(resolver, 53) if resolver else None
    except ValueError:
        fail(f"--resolver must be HOST:PORT, not {resolver!r}")
    if source_address:
        try:
            ipaddress.ip_address(source_address)
        except ValueError:
            fail(f"--source-address must be an IP address, not {source_address!r}")
    if ca_file is not None and not ca_file.is_file():
        fail(f"--ca-file {ca_file} does not exist")
    if timeout <= 0:
        fail("--timeout must be positive")
    cc = probe_cc.upper()
    if len(cc) != 2 or not cc.isalpha():
        fail(f"--probe-cc must be a two-letter country code, not {probe_cc!r}")
    asn = probe_asn.upper() if probe_asn.upper().startswith("AS") else f"AS{probe_asn}"
    if not asn[2:].isdigit():
        fail(f"--probe-asn must look like AS12345, not {probe_asn!r}")
    return ProbeConfig(resolver=resolver_addr, test_helper=test_helper, ca_file=ca_file,
                       source_address=source_address, timeout=timeout, probe_cc=cc, probe_asn=asn)


SUMMARY_FIELDS = ("verdict", "blocking", "count")


def _summary_rows(sink: StoreSink) -> list[dict[str, str | int | None]]:
    """One row per verdict and blocking method, as counted by the sink; the sink names a missing
    verdict or method for the table ("not analysed", "-"), which scripts get as null."""
    return [
        {"verdict": None if verdict == "not analysed" else verdict, "blocking": None if blocking == "-" else blocking,
         "count": count}
        for (verdict, blocking), count in sorted(sink.counts.items())
    ]


def _summary_table(sink: StoreSink, summary: RunSummary) -> Table:
    table = Table(title=f"{summary.measured} measurements", show_lines=False)
    table.add_column("verdict")
    table.add_column("blocking")
    table.add_column("count", justify="right")
    for (verdict, blocking), count in sorted(sink.counts.items()):
        table.add_row(verdict, blocking, str(count))
    return table


@app.command("probe")
def probe(
    urls: Annotated[list[str] | None, typer.Argument(help="URLs to measure.")] = None,
    test_list: Annotated[Path | None, typer.Option("--list", help="Citizen Lab test-list CSV.")] = None,
    output: Annotated[Path | None, typer.Option("--output", help="JSON Lines file; re-running resumes.")] = None,
    db: DbOption = None,
    resolver: Annotated[str | None, typer.Option("--resolver", help="DNS resolver HOST:PORT.")] = None,
    test_helper: Annotated[str | None, typer.Option("--test-helper", help="Control service URL.")] = None,
    ca_file: Annotated[Path | None, typer.Option("--ca-file", help="Extra trusted CA (PEM).")] = None,
    source_address: Annotated[str | None, typer.Option("--source-address", help="Bind sockets to IP.")] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, max=1024)] = 16,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds per step.")] = 10.0,
    probe_cc: Annotated[str, typer.Option("--probe-cc", help="Country to record (default withheld).")] = "ZZ",
    probe_asn: Annotated[str, typer.Option("--probe-asn", help="Network to record (default withheld).")] = "AS0",
    collector: Annotated[
        str | None, typer.Option("--collector", help="Collector URL: submit each measurement as it finishes.")
    ] = None,
    fmt: TableJsonOrCsv = "table",
) -> None:
    """Measure whether URLs are reachable from this network and how they are blocked."""
    config = _config(resolver, test_helper, ca_file, source_address, timeout, probe_cc, probe_asn)
    skipped: list[str] = []
    try:
        targets = _targets(urls or [], test_list, skipped)
    except TestListError as error:
        fail(str(error))
    if skipped:
        stderr.print(f"skipped {len(skipped)} inputs that are not http(s) URLs (first: {skipped[0]!r})")
    if not targets and not skipped:
        fail("nothing to measure: give URLs or --list FILE.csv")
    already = repair_and_read_inputs(output) if output is not None else set()
    todo = [url for url in targets if url not in already]
    if already:
        stderr.print(f"resuming: {len(targets) - len(todo)} of {len(targets)} URLs already in {output}")
    if not config.test_helper:
        stderr.print("[yellow]no --test-helper: without a control every verdict will be 'failure'[/]")
    try:
        store = Store(db_path(db))
    except (duckdb.Error, OSError) as error:
        fail(f"cannot open the store {db_path(db)}: {error}")
    store_sink = StoreSink(store)
    results = ResultsFile(output) if output is not None else None
    uploader = collector_sink(collector, db)  # spools what the collector cannot take now
    summary = RunSummary()
    try:
        with progress("probing", total=len(todo), unit="URLs") as reporter:
            sinks: list[Sink] = [store_sink] + ([results] if results else []) + [lambda _: reporter.advance()]
            if uploader is not None:
                sinks.append(uploader)
            runner = ProbeRunner(config, concurrency, sinks)
            summary = runner.summary
            asyncio.run(runner.run(todo))
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        store_sink.flush()
        store.close()
        if results is not None:
            results.close()
        if uploader is not None:
            uploader.close()
            stderr.print(uploader.summary_line(), highlight=False)
    emit(fmt, _summary_rows(store_sink), SUMMARY_FIELDS, lambda: _summary_table(store_sink, summary))
    for reason, count in summary.errors.most_common():
        stderr.print(f"{count} URLs recorded as failures: {reason}")
    if summary.interrupted:
        stderr.print(f"interrupted after {summary.measured} URLs; re-run with the same --output to resume")
        raise typer.Exit(130)
