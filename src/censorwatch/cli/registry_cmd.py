"""`censorwatch ingest registry-ru` and `censorwatch registry snapshots|diff|lookup|compliance`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import duckdb
import typer
from rich.table import Table

from censorwatch.analysis.compliance import BUCKETS, Window, compliance, unmatched_measurements
from censorwatch.cli.apps import ingest_app, registry_app
from censorwatch.cli.common import DbOption, db_path, fail, parse_day, progress, reading_store, stderr
from censorwatch.cli.output import CSV, JSON, TableJsonOrCsv, TableOrJson, emit, show, write_csv, write_json
from censorwatch.cli.stop_signals import STOPS
from censorwatch.sources.registry_ingest import ingest_files
from censorwatch.store import Store
from censorwatch.store.registry import DIFF_KINDS, LookupError_, RegistryStore
from censorwatch.store.registry_schema import DETAIL_FIELDS

SNAPSHOT_FIELDS = ("list_name", "snapshot_date", "updated", "entries", "skipped", "files")
LOOKUP_FIELDS = ("match", *DETAIL_FIELDS, "snapshot", "first_seen", "last_seen")
COMPLIANCE_FIELDS = ("probe_asn", "snapshot", "targets", "measurements", *BUCKETS, "registered_blocked_share",
                     *(f"examples_{bucket}" for bucket in BUCKETS))


@contextmanager
def _registry(db: Path | None) -> Iterator[tuple[duckdb.DuckDBPyConnection, RegistryStore]]:
    with reading_store(db, "run `censorwatch ingest registry-ru` first") as store:
        registry = RegistryStore(store.con)
        if not registry.has_data():
            fail(f"no register data in {store.path}: run `censorwatch ingest registry-ru FILE...` first")
        yield store.con, registry


def _names(entry: dict[str, Any]) -> str:
    """What an entry names, for a table cell: its domains (unicode) and its first three URLs."""
    return ", ".join((entry["domains_unicode"] or []) + (entry["urls"] or [])[:3]) or "-"


def _addresses(entry: dict[str, Any]) -> str:
    return ", ".join((entry["ips"] or []) + (entry["subnets"] or []))[:120]


@ingest_app.command("registry-ru")
def ingest_registry_ru(
    files: Annotated[list[Path], typer.Argument(help="dump.csv, dump-NN.csv, nxdomain.txt or dump.xml files.")],
    snapshot_date: Annotated[str | None, typer.Option("--snapshot-date", help="YYYY-MM-DD; default: the "
                                                      "file's Updated:/updateTime date")] = None,
    replace: Annotated[bool, typer.Option("--replace", help="The files given are the whole snapshot (default: "
                                          "add to what is stored for that date).")] = False,
    db: DbOption = None,
) -> None:
    """Read register dumps (streaming) into snapshots; broken lines are counted, never fatal."""
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        fail(f"no such file: {', '.join(missing)}")
    forced = parse_day(snapshot_date, "--snapshot-date")
    try:
        store = Store(db_path(db))
    except (duckdb.Error, OSError) as error:
        fail(f"cannot open the store {db_path(db)}: {error}")
    try:
        with progress("register", unit="entries") as reporter:
            report = ingest_files(store.con, files, forced, replace, on_progress=STOPS.then_check(reporter.advance))
    except (ValueError, duckdb.Error) as error:
        if STOPS.surfaced_as(error):
            raise  # Ctrl-C, which main() reports; the snapshot being written was rolled back
        fail(f"register not ingested (the snapshot being written was rolled back): {error}")
    finally:
        store.close()
    for line in report.lines():
        stderr.print(line, highlight=False, markup=False)
    if report.failed_files and not report.snapshots:
        raise typer.Exit(1)


@registry_app.command("snapshots")
def snapshots(db: DbOption = None, fmt: TableJsonOrCsv = "table") -> None:
    """The register snapshots stored, with their entry counts."""
    with _registry(db) as (_, registry):
        rows = registry.snapshot_table()
    if fmt == CSV:
        # The store keeps the file names one a line; a CSV cell lists them like any list, with ';'.
        write_csv([{**row, "files": (row["files"] or "").splitlines()} for row in rows], SNAPSHOT_FIELDS)
        return
    emit(fmt, rows, SNAPSHOT_FIELDS, lambda: _snapshot_table(rows))


def _snapshot_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="Register snapshots")
    for name in ("list", "date", "updated (UTC)", "entries", "skipped lines", "files"):
        table.add_column(name)
    for row in rows:
        table.add_row(row["list_name"], row["snapshot_date"], row["updated"] or "", str(row["entries"]),
                      str(row["skipped"]), (row["files"] or "").replace("\n", ", "))
    return table


@registry_app.command("diff")
def diff(
    from_date: Annotated[str | None, typer.Option("--from", help="Snapshot in effect on this date "
                                                  "(default: the one before --to).")] = None,
    to_date: Annotated[str | None, typer.Option("--to", help="Snapshot in effect on this date "
                                                "(default: latest).")] = None,
    fmt: TableOrJson = "table",
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Entries listed per kind "
                                              "(json: all unless given; table: 20).")] = None,
    db: DbOption = None,
) -> None:
    """Entries added, removed and changed (e.g. new IPs) between two snapshots, grouped by
    authority and decision, with each entry's first and last snapshot."""
    start, end = parse_day(from_date, "--from"), parse_day(to_date, "--to")
    with _registry(db) as (_, registry):
        try:
            summary = registry.diff(start, end, limit=0 if fmt == JSON else (limit or 20))
        except LookupError_ as error:
            fail(str(error))
        if fmt == JSON:
            before, after = date.fromisoformat(summary["from"]), date.fromisoformat(summary["to"])
            summary["entries"] = {
                kind: list(registry.iter_diff_entries(before, after, kind, limit)) for kind in DIFF_KINDS
            }
            write_json(summary)
            return
    _diff_tables(summary)


def _diff_tables(summary: dict[str, Any]) -> None:
    show(
        f"Register {summary['from']} -> {summary['to']}: {summary['added']} added, {summary['removed']} removed, "
        f"{summary['changed']} changed", highlight=False,
    )
    groups = Table(title="By authority and decision")
    for name in ("authority", "decision", "decision date", "added", "removed", "changed"):
        groups.add_column(name)
    for group in summary["groups"][:30]:
        groups.add_row(str(group["authority"] or "-"), str(group["decision"] or "-"),
                       str(group["decision_date"] or "-"),
                       str(group["added"]), str(group["removed"]), str(group["changed"]))
    show(groups)
    for kind in DIFF_KINDS:
        entries = summary["entries"][kind]
        if not entries:
            continue
        table = Table(title=f"{kind.capitalize()} (first {len(entries)})")
        for name in ("names", "addresses", "authority", "decision", "first seen", "last seen"):
            table.add_column(name, overflow="fold")
        for entry in entries:
            names, addresses = _names(entry), _addresses(entry)
            if kind == "changed":
                addresses = " ".join([f"+{a}" for a in entry["addresses_added"]]
                                     + [f"-{a}" for a in entry["addresses_removed"]])[:120]
            table.add_row(names, addresses or "-", str(entry["authority"] or "-"), str(entry["decision"] or "-"),
                          str(entry["first_seen"]), str(entry["last_seen"]))
        show(table)


@registry_app.command("lookup")
def lookup(
    target: Annotated[str, typer.Argument(help="A URL, a domain or an IP address.")],
    at: Annotated[str | None, typer.Option("--date", help="Snapshot in effect on this date (default: latest).")] = None,
    history: Annotated[bool, typer.Option("--history", help="Also entries no longer (or not yet) in force.")] = False,
    fmt: TableJsonOrCsv = "table",
    db: DbOption = None,
) -> None:
    """Register entries naming a URL, a domain (wildcards honoured) or an IP (subnets honoured)."""
    when = parse_day(at, "--date")
    with _registry(db) as (_, registry):
        try:
            entries = registry.lookup(target, when, history=history)
            snapshot = registry.snapshot_at(when)
        except LookupError_ as error:
            fail(f"cannot look up {target!r}: {error}")
    if fmt == JSON:
        write_json({"target": target, "snapshot": snapshot.isoformat() if snapshot else None, "entries": entries})
        return
    if snapshot is None:
        stderr.print(f"no register snapshot on or before {when}", highlight=False)
    if fmt == CSV:
        write_csv(entries, LOOKUP_FIELDS)
    elif not entries:
        show(f"{target}: not in the register snapshot of {snapshot}", highlight=False)
    else:
        show(_lookup_table(target, snapshot, entries))


def _lookup_table(target: str, snapshot: date | None, entries: list[dict[str, Any]]) -> Table:
    table = Table(title=f"{target} in the register (snapshot {snapshot})")
    for name in ("match", "authority", "decision", "decision date", "names", "addresses", "in force", "first seen",
                 "last seen"):
        table.add_column(name, overflow="fold")
    for entry in entries:
        names, addresses = _names(entry), _addresses(entry)
        table.add_row(entry["match"], str(entry["authority"] or "-"), str(entry["decision"] or "-"),
                      str(entry["decision_date"] or "-"), names, addresses or "-",
                      "yes" if entry["snapshot"] else "no", str(entry["first_seen"]), str(entry["last_seen"]))
    return table


@registry_app.command("compliance")
def compliance_cmd(
    country: Annotated[str, typer.Option("--country", help="Two-letter country code (probe_cc).")] = "RU",
    since: Annotated[str | None, typer.Option("--since", help="First day, YYYY-MM-DD.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Last day, YYYY-MM-DD.")] = None,
    fmt: TableJsonOrCsv = "table",
    examples: Annotated[int, typer.Option("--examples", min=0, help="Example targets per bucket.")] = 5,
    db: DbOption = None,
) -> None:
    """Per network and snapshot: registered-and-blocked, registered-but-reachable and
    blocked-but-unregistered targets, from stored verdicts and the register in effect."""
    if len(country) != 2 or not country.isalpha():
        fail(f"--country must be a two-letter country code, not {country!r}")
    window = Window(country.upper(), parse_day(since, "--since"), parse_day(until, "--until"))
    with _registry(db) as (con, _):
        try:
            rows = [row.as_dict() for row in compliance(con, window, examples)]
        except LookupError_ as error:
            fail(str(error))
        before_register = unmatched_measurements(con, window)
    if fmt == JSON:
        write_json({"country": window.country, "networks": rows, "measurements_before_first_snapshot": before_register})
        return
    if fmt == CSV:
        write_csv([_flat_compliance(row) for row in rows], COMPLIANCE_FIELDS)
    else:
        _compliance_tables(window.country, rows)
    if before_register:
        stderr.print(f"{before_register} measurements predate the first register snapshot and are not counted",
                     highlight=False)


def _flat_compliance(row: dict[str, Any]) -> dict[str, Any]:
    """A network's row with its examples as one column per bucket, for CSV."""
    return {**row, **{f"examples_{bucket}": row["examples"][bucket] for bucket in BUCKETS}}


def _compliance_tables(country: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        show(f"No {country} measurements with a verdict in the period of a register snapshot.")
    table = Table(title=f"Compliance with the register, {country}")
    for name in ("network", "snapshot", "targets", *(b.replace("_", " ") for b in BUCKETS)):
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(row["probe_asn"], row["snapshot"], str(row["targets"]), *(str(row[b]) for b in BUCKETS))
    show(table)
    for row in rows:
        for bucket in ("registered_reachable", "blocked_unregistered", "blocked_host_listed"):
            if row["examples"][bucket]:
                show(f"{row['probe_asn']} {row['snapshot']} {bucket.replace('_', ' ')}: "
                     + ", ".join(row["examples"][bucket]), highlight=False, markup=False)
