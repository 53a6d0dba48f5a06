"""`censorwatch registry latency`: how fast each network blocks what the register orders, what it
never blocks, and what it blocks unlisted (analysis/register_latency.py, docs/registry.md)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from censorwatch.analysis.register_latency import LatencyWindow, register_latency
from censorwatch.cli.apps import registry_app
from censorwatch.cli.common import DbOption, fail, parse_day, reading_store, stderr
from censorwatch.cli.output import CSV, JSON, TableJsonOrCsv, show, write_csv, write_json
from censorwatch.store.registry import LookupError_

EXAMPLE_KINDS = ("never_blocked", "slowest", "unlisted_blocked")
LATENCY_FIELDS = (
    "probe_asn", "entries_measured", "entries_blocked", "blocked_share", "entries_mostly_blocked", "never_blocked",
    "latency_entries", "latency_median_days", "latency_p90_days", "blocked_within_1_day",
    "blocked_within_1_day_share", "blocked_at_first_measurement", "listed_before_first_snapshot",
    "blocked_before_listed", "unlisted_targets", "unlisted_blocked", "unlisted_blocked_host_listed",
    *(f"examples_{kind}" for kind in EXAMPLE_KINDS),
)


@registry_app.command("latency")
def latency_cmd(
    country: Annotated[str, typer.Option("--country", help="Two-letter country code (probe_cc).")] = "RU",
    since: Annotated[str | None, typer.Option("--since", help="First day, YYYY-MM-DD.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Last day, YYYY-MM-DD.")] = None,
    grace: Annotated[float | None, typer.Option("--grace-days", min=0, help="How long the last snapshot stays "
                                                "in force (default: the median interval between snapshots, "
                                                "1 to 30 days; 7 with one snapshot).")] = None,
    examples: Annotated[int, typer.Option("--examples", min=0, help="Example entries and targets per kind.")] = 5,
    fmt: TableJsonOrCsv = "table",
    db: DbOption = None,
) -> None:
    """Per network: share of measured register entries blocked, median and 90th-percentile days
    from listing to the first blocked measurement, entries never blocked, and unlisted blocking."""
    if len(country) != 2 or not country.isalpha():
        fail(f"--country must be a two-letter country code, not {country!r}")
    window = LatencyWindow(country.upper(), parse_day(since, "--since"), parse_day(until, "--until"), grace, examples)
    with reading_store(db, "run `censorwatch ingest registry-ru` and `censorwatch ingest ooni` first") as store:
        try:
            report = register_latency(store.con, window).as_dict()
        except LookupError_ as error:
            fail(str(error))
    if fmt == JSON:
        write_json(report, indent=True)
    elif fmt == CSV:
        write_csv([_flat(row) for row in report["networks"]], LATENCY_FIELDS)
        for note in report["notes"]:
            stderr.print(f"note: {note}", highlight=False, markup=False)
    else:
        _tables(report)


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, **{f"examples_{kind}": row["examples"][kind] for kind in EXAMPLE_KINDS}}


def _cell(value: object) -> str:
    return "-" if value is None else str(value)


def _tables(report: dict[str, Any]) -> None:
    register, counted = report["register"], report["counted"]
    show(f"Register snapshots {register['first_snapshot']} .. {register['last_snapshot']} ({register['snapshots']}); "
         f"judged until {register['judged_until']} (grace {register['grace_days']:g} days)",
         highlight=False, markup=False)
    table = Table(title=f"Compliance latency with the register, {report['country']}")
    for name in ("network", "entries", "blocked", "share", "never blocked", "timed", "median days", "p90 days",
                 "within 1 day", "unlisted blocked", "host-listed blocked"):
        table.add_column(name, overflow="fold")
    for row in report["networks"]:
        table.add_row(
            row["probe_asn"], str(row["entries_measured"]), str(row["entries_blocked"]), _cell(row["blocked_share"]),
            str(row["never_blocked"]), str(row["latency_entries"]), _cell(row["latency_median_days"]),
            _cell(row["latency_p90_days"]),
            f"{row['blocked_within_1_day']} ({_cell(row['blocked_within_1_day_share'])})",
            str(row["unlisted_blocked"]), str(row["unlisted_blocked_host_listed"]),
        )
    show(table)
    for row in report["networks"]:
        for kind in EXAMPLE_KINDS:
            if row["examples"][kind]:
                show(f"{row['probe_asn']} {kind.replace('_', ' ')}: " + ", ".join(row["examples"][kind]),
                     highlight=False, markup=False)
    for note in report["notes"]:
        show(f"note: {note}", highlight=False, markup=False)
    if not report["networks"]:
        show(f"No {report['country']} measurements of register entries with a verdict.", highlight=False)
    skipped = {name: counted[name] for name in ("failures", "unreadable_inputs") if counted[name]}
    if skipped:
        stderr.print("not judged: " + ", ".join(f"{name} {count}" for name, count in skipped.items()),
                     highlight=False)
