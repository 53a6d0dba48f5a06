"""`censorwatch probe`: Web Connectivity for URLs from arguments or a Citizen Lab test list, and the
other tests (messengers, Tor, OpenVPN, DNS over HTTPS/TLS, HTTP/3, throttling) with --test."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import duckdb
import typer
from rich.table import Table

from censorwatch.analysis.store_sink import StoreSink
from censorwatch.cli.apps import app
from censorwatch.cli.common import DbOption, db_path, fail, progress, stderr
from censorwatch.cli.output import TableJsonOrCsv, emit
from censorwatch.model.measurement import WITHHELD_ASN, WITHHELD_CC
from censorwatch.probe.collector_client import collector_sink
from censorwatch.probe.config import ProbeConfig, parse_host_port
from censorwatch.probe.consent import consent_missing, current_consent
from censorwatch.probe.endpoints_file import EndpointsError, load_endpoints
from censorwatch.probe.experiments import DEFAULT_TEST, NOT_OONI
from censorwatch.probe.geoip_db import Network
from censorwatch.probe.geoip_db import default_db_path as default_geoip_db
from censorwatch.probe.public_services import default_stun_servers, default_test_helpers, ooni_collector
from censorwatch.probe.results_file import ResultsFile, repair_and_read_inputs
from censorwatch.sources.test_lists import TestListError, is_probeable_url, read_test_list
from censorwatch.store import Store

if TYPE_CHECKING:
    from censorwatch.probe.runner import RunSummary, Sink


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


def _check_options(resolver: str | None, ca_file: Path | None, source_address: str | None,
                   timeout: float) -> tuple[str, int] | None:
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
    return resolver_addr


def _normalised_cc(probe_cc: str | None) -> str | None:
    if probe_cc is None:
        return None
    cc = probe_cc.upper()
    if len(cc) != 2 or not cc.isalpha():
        fail(f"--probe-cc must be a two-letter country code, not {probe_cc!r}")
    return cc


def _normalised_asn(probe_asn: str | None) -> str | None:
    if probe_asn is None:
        return None
    asn = probe_asn.upper() if probe_asn.upper().startswith("AS") else f"AS{probe_asn}"
    if not asn[2:].isdigit():
        fail(f"--probe-asn must look like AS12345, not {probe_asn!r}")
    return asn


def _whereabouts(cc: str | None, asn: str | None, no_geolocate: bool, stun: list[str] | None,
                 source_address: str | None, timeout: float) -> Network:
    """Country and network to record: the options, else found from the public address (STUN,
    then the local geoip database), else withheld. The address itself is never seen here."""
    from censorwatch.probe.geolocation import locate_sync  # loads dnspython: only when locating

    withheld = Network(cc or WITHHELD_CC, asn or WITHHELD_ASN, None)
    if no_geolocate or (cc and asn):
        return withheld
    if source_address and ipaddress.ip_address(source_address).is_loopback:
        return withheld  # measuring a lab on loopback: there is no public address to find
    path = default_geoip_db()
    if not path.exists():
        stderr.print("no geoip database: country and network recorded as withheld (ZZ/AS0); "
                     "`censorwatch geoip update` installs one", highlight=False)
        return withheld
    located = locate_sync(path, stun or default_stun_servers(), min(timeout, 5.0), source_address)
    if located.network is None:
        stderr.print(f"country and network not found ({located.problem}): recorded as withheld", highlight=False)
        return withheld
    found = located.network
    network = Network(cc or found.probe_cc, asn or found.probe_asn, found.network_name if asn is None else None)
    stderr.print(f"measuring from {network.probe_cc}, {network.probe_asn} ({network.network_name or 'unnamed'}); "
                 "your IP address is not kept", highlight=False)
    return network


def _config(
    resolver_addr: tuple[str, int] | None, test_helpers: list[str], ca_file: Path | None,
    source_address: str | None, timeout: float, network: Network,
) -> ProbeConfig:
    helpers = tuple(test_helpers) or default_test_helpers()
    return ProbeConfig(resolver=resolver_addr, test_helpers=helpers, ca_file=ca_file,
                       source_address=source_address, timeout=timeout, probe_cc=network.probe_cc,
                       probe_asn=network.probe_asn, probe_network_name=network.network_name)


SUMMARY_FIELDS = ("test", "verdict", "blocking", "count")


def _for_ooni(uploader: Sink) -> Sink:
    """OONI's collector gets the measurements of the tests OONI has."""

    def sink(measurement: dict[str, Any]) -> None:
        if measurement.get("test_name") not in NOT_OONI:
            uploader(measurement)

    return sink


def _summary_rows(sink: StoreSink) -> list[dict[str, str | int | None]]:
    """One row per test, verdict and blocking method, as counted by the sink; the sink names a
    missing verdict or method for the table ("not analysed", "-"), which scripts get as null."""
    return [
        {"test": test, "verdict": None if verdict == "not analysed" else verdict,
         "blocking": None if blocking == "-" else blocking, "count": count}
        for (test, verdict, blocking), count in sorted(sink.counts.items())
    ]


def _summary_table(sink: StoreSink, summary: RunSummary) -> Table:
    table = Table(title=f"{summary.measured} measurements", show_lines=False)
    table.add_column("test")
    table.add_column("verdict")
    table.add_column("blocking")
    table.add_column("count", justify="right")
    for (test, verdict, blocking), count in sorted(sink.counts.items()):
        table.add_row(test, verdict, blocking, str(count))
    return table


@app.command("probe")
def probe(
    urls: Annotated[list[str] | None, typer.Argument(help="URLs to measure.")] = None,
    test_list: Annotated[Path | None, typer.Option("--list", help="Citizen Lab test-list CSV.")] = None,
    output: Annotated[Path | None, typer.Option("--output", help="JSON Lines file; re-running resumes.")] = None,
    db: DbOption = None,
    resolver: Annotated[str | None, typer.Option("--resolver", help="DNS resolver HOST:PORT.")] = None,
    test_helper: Annotated[
        list[str] | None,
        typer.Option("--test-helper", help="Control service URL; repeat for fallbacks (default: OONI's)."),
    ] = None,
    ca_file: Annotated[Path | None, typer.Option("--ca-file", help="Extra trusted CA (PEM).")] = None,
    source_address: Annotated[str | None, typer.Option("--source-address", help="Bind sockets to IP.")] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, max=1024)] = 16,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds per step.")] = 10.0,
    probe_cc: Annotated[
        str | None, typer.Option("--probe-cc", help="Country to record (default: found, else withheld ZZ).")
    ] = None,
    probe_asn: Annotated[
        str | None, typer.Option("--probe-asn", help="Network to record (default: found, else withheld AS0).")
    ] = None,
    stun: Annotated[
        list[str] | None, typer.Option("--stun", help="STUN server HOST:PORT for the public address; repeatable.")
    ] = None,
    no_geolocate: Annotated[
        bool, typer.Option("--no-geolocate", help="Do not look up country and network: record ZZ/AS0.")
    ] = False,
    upload: Annotated[
        str | None, typer.Option("--upload", help="'ooni': publish each measurement to OONI's collector.")
    ] = None,
    collector: Annotated[
        str | None, typer.Option("--collector", help="Collector URL: submit each measurement as it finishes.")
    ] = None,
    tests: Annotated[
        list[str] | None,
        typer.Option("--test", help="Test to run; repeatable (web_connectivity, telegram, signal, whatsapp, "
                     "facebook_messenger, vanilla_tor, tor, openvpn, dnscheck, http3, throttling)."),
    ] = None,
    endpoints_file: Annotated[
        Path | None,
        typer.Option("--endpoints", help="Endpoints file replacing the shipped one (docs/probe-endpoints.md)."),
    ] = None,
    fmt: TableJsonOrCsv = "table",
) -> None:
    """Measure whether URLs, messengers and circumvention tools are reachable from this network, and how
    they are blocked."""
    # Here, not at the top: the tests' network libraries (dnspython loads aioquic, and with it
    # cryptography) would slow every other command's start.
    from censorwatch.analysis.throttling_history import StoreHistory
    from censorwatch.probe.job_plan import PlanError, plan_jobs
    from censorwatch.probe.runner import ProbeRunner, RunSummary

    if current_consent() is None:
        fail(consent_missing("censorwatch probe measures nothing"))
    if upload not in (None, "ooni"):
        fail(f"--upload takes 'ooni', not {upload!r}")
    collector = collector or (ooni_collector() if upload == "ooni" else None)
    cc, asn = _normalised_cc(probe_cc), _normalised_asn(probe_asn)
    resolver_addr = _check_options(resolver, ca_file, source_address, timeout)
    skipped: list[str] = []
    try:
        targets = _targets(urls or [], test_list, skipped)
    except TestListError as error:
        fail(str(error))
    if skipped:
        stderr.print(f"skipped {len(skipped)} inputs that are not http(s) URLs (first: {skipped[0]!r})")
    try:
        endpoints = load_endpoints(endpoints_file)
        jobs = plan_jobs(tests or [DEFAULT_TEST], targets, endpoints)
    except (EndpointsError, PlanError) as error:
        if skipped and not targets:
            fail(f"nothing to measure: none of the {len(skipped)} inputs is an http(s) URL")
        fail(str(error))
    already = repair_and_read_inputs(output) if output is not None else set()
    todo = [job for job in jobs if (job.test_name, job.input) not in already]
    if already:
        stderr.print(f"resuming: {len(jobs) - len(todo)} of {len(jobs)} measurements already in {output}")
    # Located only once there is something to measure: a mistyped list costs no STUN request.
    network = _whereabouts(cc, asn, no_geolocate, stun, source_address, timeout)
    config = _config(resolver_addr, test_helper or [], ca_file, source_address, timeout, network)
    if not test_helper and any(job.test_name == DEFAULT_TEST for job in todo):
        stderr.print(f"control: OONI's public test helpers, first of {', '.join(config.controls)}", highlight=False)
    if upload == "ooni" and NOT_OONI & {job.test_name for job in todo}:
        stderr.print(f"{', '.join(sorted(NOT_OONI & {job.test_name for job in todo}))}: censorwatch's own tests, "
                     "which OONI does not have; their measurements stay on this machine", highlight=False)
    try:
        store = Store(db_path(db))
    except (duckdb.Error, OSError) as error:
        fail(f"cannot open the store {db_path(db)}: {error}")
    store_sink = StoreSink(store)
    results = ResultsFile(output) if output is not None else None
    uploader = collector_sink(collector, db)  # spools what the collector cannot take now
    summary = RunSummary()
    try:
        with progress("probing", total=len(todo), unit="measurements") as reporter:
            sinks: list[Sink] = [store_sink] + ([results] if results else []) + [lambda _: reporter.advance()]
            if uploader is not None:
                sinks.append(_for_ooni(uploader) if upload == "ooni" else uploader)
            # Throttling is judged against this network's earlier runs in the same store.
            runner = ProbeRunner(config, concurrency, sinks, endpoints, StoreHistory(store))
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
        stderr.print(f"{count} measurements recorded as failures: {reason}")
    if summary.interrupted:
        stderr.print(f"interrupted after {summary.measured} measurements; re-run with the same --output to resume")
        raise typer.Exit(130)
