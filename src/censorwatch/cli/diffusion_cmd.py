"""`censorwatch diffusion`: hostnames blocked in one country and later in another, and blocking
that followed a documented request (analysis/diffusion.py, docs/events.md "Diffusion")."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from censorwatch.cli.apps import app
from censorwatch.cli.common import DbOption, fail, parse_day, reading_store, stderr
from censorwatch.cli.output import CSV, JSON, TableJsonOrCsv, show, write_csv, write_json

SIDE_FIELDS = ("country", "first_blocked", "uid", "uid_time", "network", "networks", "blocking")
PAIR_FIELDS = ("hostname", "lag_days", "lag_upper_bound", *(f"from_{name}" for name in SIDE_FIELDS),
               *(f"to_{name}" for name in SIDE_FIELDS), "to_first_measured")
REQUEST_FIELDS = ("request_id", "requester", "recipient", "action", "asked", "target", "hostname", "country",
                  "first_blocked", "network", "networks", "uid", "lag_days", "blocked_before_asked", "measured_after")


def _country(value: str | None, option: str) -> str | None:
    if value is None:
        return None
    if len(value) != 2 or not value.isalpha():
        fail(f"{option} must be a two-letter country code, not {value!r}")
    return value.upper()


@app.command("diffusion")
def diffusion_cmd(
    from_cc: Annotated[str | None, typer.Option("--from", help="Country that blocked first (probe_cc).")] = None,
    to_cc: Annotated[str | None, typer.Option("--to", help="Country that blocked later; with requests, the "
                                              "recipients' country.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="YYYY-MM-DD: only hostnames first blocked in --from "
                                              "(and requests asked) on or after.")] = None,
    requests_only: Annotated[bool, typer.Option("--requests", help="Only blocking that followed archive "
                                                "requests (no --from needed).")] = False,
    requester: Annotated[str | None, typer.Option("--requester", help="Requests whose requester contains this.")]
    = None,
    recipient: Annotated[str | None, typer.Option("--recipient", help="Requests whose recipient contains this.")]
    = None,
    source: Annotated[str, typer.Option("--source", help="auto (events when `events detect` has run, else "
                                        "measurements), events or measurements.")] = "auto",
    fmt: TableJsonOrCsv = "table",
    db: DbOption = None,
) -> None:
    """Hostnames blocked in --from and later in --to, with the lag and the first blocked
    measurement on each side; and requests' targets blocked in --to after the day asked."""
    to = _country(to_cc, "--to")
    first = _country(from_cc, "--from")
    if to is None:
        fail("--to is required")
    if first is None and not requests_only:
        fail("--from is required (or --requests for requests only)")
    if first == to:
        fail("--from and --to must be two countries")
    # Here, not at the top: diffusion reads the archive's requests, whose modules every other
    # command's start would pay for.
    from censorwatch.analysis.diffusion import SOURCES, DiffusionError, DiffusionQuery, diffusion

    if source not in SOURCES:
        fail(f"--source must be one of {', '.join(SOURCES)}, not {source!r}")
    query = DiffusionQuery(to, None if requests_only else first, parse_day(since, "--since"), source, requester,
                           recipient)
    with reading_store(db) as store:
        try:
            result = diffusion(store.con, query)
        except DiffusionError as error:
            fail(str(error))
    _print(result, fmt, requests_only)


def _flat_pair(pair: dict[str, Any]) -> dict[str, Any]:
    row = {"hostname": pair["hostname"], "lag_days": pair["lag_days"], "lag_upper_bound": pair["lag_upper_bound"]}
    for side in ("from", "to"):
        row.update({f"{side}_{name}": pair[side][name] for name in SIDE_FIELDS})
    row["to_first_measured"] = pair["to"]["first_measured"]
    return row


def _print(result: dict[str, Any], fmt: str, requests_only: bool) -> None:
    if fmt == JSON:
        write_json(result, indent=True)
    elif fmt == CSV:
        if requests_only:
            write_csv(result["requests"], REQUEST_FIELDS)
        else:
            write_csv([_flat_pair(pair) for pair in result["pairs"]], PAIR_FIELDS)
            if result["requests"]:
                stderr.print(f"{len(result['requests'])} request targets: `--requests --format csv` lists them",
                             highlight=False)
    else:
        if not requests_only:
            _pairs_table(result)
        _requests_table(result, requests_only)
    skipped = {name: count for name, count in result["counted"].items() if count}
    if skipped:
        stderr.print("not compared: " + ", ".join(f"{name.replace('_', ' ')} {count}"
                                                 for name, count in skipped.items()), highlight=False)


def _pairs_table(result: dict[str, Any]) -> None:
    summary = result["summary"]
    show(f"Blocked in {result['from']}: {summary['blocked_in_from']} hostnames; in {result['to']}: "
         f"{summary['blocked_in_to']}; in both: {summary['blocked_in_both']} ({summary['followed']} later in "
         f"{result['to']}, {summary['preceded']} earlier, {summary['same_time']} at the same time). "
         f"From {result['source']}.", highlight=False, markup=False)
    table = Table(title=f"Blocked in {result['from']}, later in {result['to']}")
    for name in ("hostname", "lag days", f"{result['from']} first blocked", "network", "evidence",
                 f"{result['to']} first blocked", "network", "evidence"):
        table.add_column(name, overflow="fold")
    for pair in result["pairs"]:
        lag = f"{pair['lag_days']}" + (" (at most)" if pair["lag_upper_bound"] else "")
        table.add_row(pair["hostname"], lag, pair["from"]["first_blocked"], pair["from"]["network"],
                      pair["from"]["uid"] or "-", pair["to"]["first_blocked"], pair["to"]["network"],
                      pair["to"]["uid"] or "-")
    show(table)


def _requests_table(result: dict[str, Any], always: bool) -> None:
    rows = result["requests"]
    if not rows:
        if always:
            show("No request targets with a hostname" + ("" if result["archive"] else " (the store holds no archive)")
                 + ".", highlight=False)
        return
    table = Table(title=f"Requests and blocking in {result['to']}")
    for name in ("request", "requester", "recipient", "asked", "target", "first blocked after", "network",
                 "lag days", "blocked before"):
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(row["request_id"], row["requester"], row["recipient"], row["asked"], row["hostname"],
                      row["first_blocked"] or ("not measured since" if not row["measured_after"] else "not blocked"),
                      row["network"] or "-", "-" if row["lag_days"] is None else str(row["lag_days"]),
                      row["blocked_before_asked"] or "-")
    show(table)
