"""`censorwatch archive request add|import|list`: requests as records (docs/archive-requests.md),
registered under `archive` by archive_cmd.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from censorwatch.cli.common import DbOption, fail, stderr
from censorwatch.cli.output import JSON, TableOrJson, show, write_json

if TYPE_CHECKING:
    from censorwatch.archive.request_store import ImportReport
    from censorwatch.archive.requests import BlockingRequest, RequestError

# The store is opened through archive_cmd's helper, imported when a command runs: archive_cmd
# imports this module (to register request_app), not the other way round.
request_app = typer.Typer(help="Requests: who asked whom to block what, and the answer.", no_args_is_help=True)


@request_app.command("add")
def request_add(
    requester: Annotated[str, typer.Option("--requester", help="Who asked (agency, court, company).")],
    recipient: Annotated[str, typer.Option("--recipient", help="Who was asked.")],
    date: Annotated[str, typer.Option("--date", help="YYYY-MM-DD (or YYYY-MM, YYYY).")],
    target: Annotated[list[str], typer.Option("--target", help="URL, domain, IP or account (repeat).")],
    action: Annotated[str, typer.Option("--action", help="block, delete, restrict, ...")] = "block",
    legal_basis: Annotated[str | None, typer.Option("--legal-basis")] = None,
    document: Annotated[list[str] | None, typer.Option("--document", help="Doc id or sha256 (repeat).")] = None,
    outcome: Annotated[str, typer.Option("--outcome", help="complied, refused, partial or unknown.")] = "unknown",
    outcome_date: Annotated[str | None, typer.Option("--outcome-date")] = None,
    note: Annotated[str | None, typer.Option("--note")] = None,
    request_id: Annotated[str | None, typer.Option("--id", help="Default: derived from the record.")] = None,
    db: DbOption = None,
) -> None:
    """Record one request."""
    from censorwatch.archive.requests import RequestError, build_request

    fields = {"id": request_id, "requester": requester, "recipient": recipient, "date": date, "action": action,
              "legal_basis": legal_basis, "targets": target, "documents": document or [], "outcome": outcome,
              "outcome_date": outcome_date, "note": note}
    try:
        request = build_request(fields, "the command line")
    except RequestError as error:
        fail(str(error))
    report = _save(db, [("the command line", request)], "command line")
    state = "added" if report.added else "updated" if report.updated else "unchanged"
    show(f"request {request.request_id} {state}", markup=False, highlight=False)


@request_app.command("import")
def request_import(
    file: Annotated[Path, typer.Argument(help="A YAML or CSV file (docs/archive-requests.md).")],
    fmt: Annotated[str | None, typer.Option("--format", help="yaml or csv (default: by the name).")] = None,
    db: DbOption = None,
) -> None:
    """Import requests, all or none: one invalid record imports nothing and every one is named."""
    from censorwatch.archive.request_files import format_of
    from censorwatch.archive.requests import RequestError

    if not file.is_file():
        fail(f"no such file: {file}")
    try:
        report = _save(db, _built(file, format_of(file, fmt)), str(file))
    except RequestError as error:
        fail(str(error))
    show(f"{file}: {report.added} added, {report.updated} updated, {report.unchanged} unchanged",
         markup=False, highlight=False)
    if report.missing_documents:
        stderr.print(f"{len(report.missing_documents)} referenced documents are not in the archive (yet): "
                     + ", ".join(sorted(report.missing_documents)[:10]), highlight=False)


def _built(file: Path, fmt: str) -> Iterator[tuple[str, BlockingRequest | RequestError]]:
    from censorwatch.archive.request_files import read_records
    from censorwatch.archive.requests import RequestError, build_request

    for item in read_records(file, fmt):
        if isinstance(item, RequestError):
            yield item.where, item
            continue
        where, fields = item
        try:
            yield where, build_request(fields, where)
        except RequestError as error:
            yield where, error


def _save(db: Path | None, items: Any, origin: str) -> ImportReport:
    from censorwatch.archive.request_store import ImportFailed
    from censorwatch.cli.archive_cmd import opened_archive

    with opened_archive(db, writable=True) as archive:
        try:
            return archive.requests.save(items, origin)
        except ImportFailed as failed:
            for error in failed.report.errors:
                stderr.print(f"{origin}: {error}", highlight=False, markup=False)
            more = failed.report.error_count - len(failed.report.errors)
            fail(f"{failed}{f' ({more} more not listed)' if more else ''}", code=1)


@request_app.command("list")
def request_list(
    requester: Annotated[str | None, typer.Option("--requester", help="Part of the requester's name.")] = None,
    recipient: Annotated[str | None, typer.Option("--recipient", help="Part of the recipient's name.")] = None,
    fmt: TableOrJson = "table",
    db: DbOption = None,
) -> None:
    """The requests recorded, oldest first."""
    from censorwatch.cli.archive_cmd import opened_archive

    with opened_archive(db) as archive:
        rows = [{**item["request"].as_dict(), "origin": item["origin"]}
                for item in archive.requests.listed(requester, recipient)]
    if fmt == JSON:
        write_json(rows)
        return
    table = Table(title=f"{len(rows)} requests")
    for name in ("id", "date", "requester", "recipient", "action", "targets", "outcome", "documents"):
        table.add_column(name, overflow="fold")
    for row in rows:
        targets = " ".join(t["value"] for t in row["targets"][:3]) + (" ..." if len(row["targets"]) > 3 else "")
        outcome = row["outcome"] + (f" ({row['outcome_date']})" if row["outcome_date"] else "")
        table.add_row(row["id"], row["date"], Text(row["requester"]), Text(row["recipient"]), row["action"],
                      Text(targets), outcome, str(len(row["documents"])))
    show(table)
