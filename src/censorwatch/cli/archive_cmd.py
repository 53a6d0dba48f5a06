"""`censorwatch archive add|search|show|entities|export|reindex|remove`: the document archive (its
`archive request` commands: archive_request_cmd.py). The work is done in censorwatch.archive;
these commands parse options and print."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import duckdb
import orjson
import typer
from rich.table import Table
from rich.text import Text

from censorwatch.archive.model import ENTITY_TYPES
from censorwatch.cli.apps import app
from censorwatch.cli.archive_request_cmd import request_app
from censorwatch.cli.common import DbOption, db_path, fail, parse_day, progress, stderr
from censorwatch.cli.output import JSON, TableJsonOrCsv, TableOrJson, emit, show, write_json
from censorwatch.cli.stop_signals import STOPS
from censorwatch.durable import written_whole

if TYPE_CHECKING:
    from censorwatch.archive.add_report import AddReport
    from censorwatch.archive.index import ArchiveIndex
    from censorwatch.archive.removal import RemovalReport
    from censorwatch.archive.session import Archive

# The archive's modules are imported by its commands when they run: together they take some two
# seconds to import (tantivy, jieba's dictionary, the PDF and office readers), which every other
# command would otherwise pay at start-up.

archive_app = typer.Typer(help="The document archive: orders, notices, requests and leaks.", no_args_is_help=True)
app.add_typer(archive_app, name="archive")
archive_app.add_typer(request_app, name="request")

PrivateOption = Annotated[bool, typer.Option("--private", help="Include private collections, unmasked.")]
MiB = 1 << 20


@contextmanager
def opened_archive(db: Path | None, writable: bool = False) -> Iterator[Archive]:
    from censorwatch.archive.session import Archive

    path = db_path(db)
    if not writable and not path.exists():
        fail(f"no store at {path}: run `censorwatch archive add PATH...` first")
    try:
        archive = Archive(path, writable=writable)
    except duckdb.Error as error:
        fail(f"cannot open the store {path}: {error}")
    try:
        if not writable and not archive.exists:
            fail(f"no documents in {path}: run `censorwatch archive add PATH...` first")
        yield archive
    finally:
        archive.close()


@contextmanager
def _index(archive: Archive) -> Iterator[ArchiveIndex]:
    from censorwatch.archive.index import ArchiveIndex, IndexFormatError

    try:
        with ArchiveIndex(archive.index_directory) as index:
            yield index
    except (FileNotFoundError, IndexFormatError) as error:
        fail(f"{error}: run `censorwatch archive reindex` to build the index from the store")


@archive_app.command("add")
def add(
    paths: Annotated[list[Path], typer.Argument(help="Files and directories (walked whole).")],
    collection: Annotated[str, typer.Option("--collection", help="The collection to add to.")] = "default",
    source: Annotated[str | None, typer.Option("--source", help="Where the files came from.")] = None,
    private: Annotated[bool, typer.Option("--private", help="Create the collection private: never shown "
                                          "without --private, contacts unmasked only then.")] = False,
    max_size: Annotated[int | None, typer.Option("--max-size", min=1, help="MiB read per file; a larger file is kept "
                                          "but not extracted (default 256).")] = None,
    ocr: Annotated[bool, typer.Option("--ocr/--no-ocr", help="OCR scanned pages (tesseract).")] = True,
    workers: Annotated[int | None, typer.Option("--workers", min=1, help="Extraction processes.")] = None,
    retry: Annotated[bool, typer.Option("--retry", help="Extract again the documents of files held already that "
                                        "are recorded as failed or needing OCR (ok ones are skipped).")] = False,
    fmt: TableOrJson = "table",
    db: DbOption = None,
) -> None:
    """Add documents: originals kept byte for byte, text and entities extracted and indexed."""
    from censorwatch.archive.analysed import TARGET as ANALYSED
    from censorwatch.archive.extract.isolated import IsolatedExtractor
    from censorwatch.archive.index import IndexFormatError
    from censorwatch.archive.ingest import MAX_FILE_SIZE, AddOptions, add_paths, store_files
    from censorwatch.archive.store import CollectionError
    from censorwatch.archive.walk import count_files

    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        fail(f"no such file or directory: {', '.join(missing)}")
    options = AddOptions(collection, source, private, max_file_size=MAX_FILE_SIZE if max_size is None
                         else max_size * MiB, retry=retry)
    with opened_archive(db, writable=True) as archive:
        total = count_files(paths, exclude=store_files(archive))
        # Not started here: workers start at the first new file, so a run that finds everything
        # stored already starts none.
        extractor = IsolatedExtractor(workers or _workers(), ocr=ocr, target=ANALYSED)
        try:
            with progress("archive", total=total, unit="files") as reporter:
                report = add_paths(paths, archive, options, extractor, on_file=STOPS.then_check(reporter.advance))
        except CollectionError as error:
            fail(str(error))
        except IndexFormatError as error:
            fail(f"{error}: run `censorwatch archive reindex`, then add again")
        finally:
            extractor.close()
    if fmt == JSON:
        write_json(report.as_dict())
        return
    _print_report(report)


def _workers() -> int:
    # Workers extract and analyse; this process writes the rows and the index, about 3 ms of CPU
    # per document, so it keeps a core of its own.
    return max(1, min(8, (os.cpu_count() or 2) - 1))


def _print_report(report: AddReport) -> None:
    rate = report.files / report.seconds if report.seconds else 0.0
    show(f"{report.files} files: {report.added} added (and {report.children} documents inside them), "
         f"{report.present} already present, {report.failed} failed, {report.needs_ocr} need OCR, "
         f"{f'{report.parts_failed} part(s) inside them not extracted, ' if report.parts_failed else ''}"
         f"{report.skipped} skipped; "
         f"{f'{report.retried} retried ({report.recovered} extracted now), ' if report.retried else ''}"
         f"{report.indexed} indexed"
         f"{f' ({report.repaired} left by an interrupted run)' if report.repaired else ''}"
         f" in {report.seconds:.1f} s ({rate:.1f} files/s)", markup=False, highlight=False)
    for title, items in (("failed", report.failures), ("skipped", report.skips)):
        for where, reason in items:
            show(f"{title}: {where}: {reason}", markup=False, highlight=False)
    unlisted = report.failed + report.parts_failed - len(report.failures) + report.skipped - len(report.skips)
    if unlisted > 0:
        show(f"... and {unlisted} more (`--format json` lists the first ones; `archive export` all)", markup=False)


@archive_app.command("search")
def search(
    query: Annotated[str, typer.Argument(help='Words, "phrases", AND/OR/NOT, identifiers (451555-РИ).')],
    lang: Annotated[str | None, typer.Option("--lang", help="Documents in this language (ru, zh, en).")] = None,
    collection: Annotated[str | None, typer.Option("--collection")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Dated on or after YYYY-MM-DD.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Dated on or before YYYY-MM-DD.")] = None,
    entity: Annotated[str | None, typer.Option("--entity", help="TYPE:VALUE, e.g. domain:pontorez.com.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 20,
    offset: Annotated[int, typer.Option("--offset", min=0)] = 0,
    private: PrivateOption = False,
    fmt: TableOrJson = "table",
    db: DbOption = None,
) -> None:
    """Full-text search: Russian and English stemmed, Chinese by words, identifiers exact."""
    from censorwatch.archive import views
    from censorwatch.archive.index import QueryError

    first, last = parse_day(since, "--since"), parse_day(until, "--until")
    with opened_archive(db) as archive, _index(archive) as index:
        try:
            found = views.search(archive, index, query, language=lang, collection=collection, since=first,
                                 until=last, entity=entity, include_private=private, limit=limit, offset=offset)
        except QueryError as error:
            fail(f"cannot search for {query!r}: {error}")
    if fmt == JSON:
        write_json(found)
        return
    table = Table(title=f"{found['total']} documents match; {len(found['hits'])} shown")
    for name in ("doc_id", "score", "date", "lang", "collection", "title", "snippet"):
        table.add_column(name, overflow="fold")
    for hit in found["hits"]:
        table.add_row(hit["doc_id"], f"{hit['score']:.2f}", (hit["date"] or "")[:10], hit["language"] or "",
                      hit["collection"], Text(hit["title"] or ""), Text(hit["snippet"] or ""))
    show(table)


@archive_app.command("show")
def show_document(
    doc_id: Annotated[str, typer.Argument(help="A document id (or its first digits, or a sha256).")],
    text: Annotated[bool, typer.Option("--text", help="Print the text, page by page.")] = False,
    private: PrivateOption = False,
    fmt: TableOrJson = "table",
    db: DbOption = None,
) -> None:
    """A document: metadata, provenance, entities, children, requests (and its text)."""
    from censorwatch.archive import views

    with opened_archive(db) as archive:
        try:
            document = views.show(archive, doc_id, include_private=private, text=text)
        except views.DocumentNotFound as error:
            fail(str(error))
    if fmt == JSON:
        write_json(document)
        return
    _print_document(document)


def _print_document(document: dict[str, Any]) -> None:
    fields = Table.grid(padding=(0, 2))
    for name in ("doc_id", "title", "name", "kind", "status", "reason", "date", "language", "size", "sha256",
                 "collection", "private", "source", "original_path", "added_at", "original"):
        if document.get(name) not in (None, ""):
            fields.add_row(name, Text(str(document[name])))
    if document["parent"]:
        fields.add_row("inside", Text(f"{document['parent']['doc_id']} ({document['parent']['name']})"))
    for location in document["locations"][1:]:
        fields.add_row("also found", Text(f"{location['original_path']} ({location['source'] or '-'}, "
                                          f"{location['added_at'][:19]})"))
    for key, value in document["metadata"].items():
        fields.add_row(f"metadata.{key}", Text(str(value)))
    show(fields)
    _rows_table("Entities", ("type", "value", "mentions", "pages"), [
        (e["type"], e["value"], str(e["mentions"]), ", ".join(map(str, e["pages"]))) for e in document["entities"]])
    _rows_table("Children", ("doc_id", "name", "kind", "status", "size"), [
        (c["doc_id"], c["name"], c["kind"] or "", c["status"], str(c["size"])) for c in document["children"]])
    _rows_table("Requests", ("id", "date", "requester", "recipient", "action", "outcome"), [
        (r["id"], r["date"], r["requester"], r["recipient"], r["action"], r["outcome"])
        for r in document["requests"]])
    for page in document.get("pages", []):
        show(f"--- page {page['number']} ({page['language'] or 'und'}) ---", markup=False, highlight=False)
        show(Text(page["text"]))


def _rows_table(title: str, columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    if not rows:
        return
    table = Table(title=title)
    for name in columns:
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    show(table)


@archive_app.command("entities")
def entities(
    kind: Annotated[str | None, typer.Option("--type", help=f"One of {', '.join(ENTITY_TYPES)}.")] = None,
    collection: Annotated[str | None, typer.Option("--collection")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Rows listed (default: all).")] = None,
    private: PrivateOption = False,
    fmt: TableJsonOrCsv = "table",
    db: DbOption = None,
) -> None:
    """Entities found in the documents, each with the number of documents naming it."""
    from censorwatch.archive import listing

    if kind is not None and kind not in ENTITY_TYPES:
        fail(f"--type must be one of {', '.join(ENTITY_TYPES)}, not {kind!r}")
    with opened_archive(db) as archive:
        rows, hidden = listing.entities(archive, kind, collection, include_private=private, limit=limit)
    if hidden:
        stderr.print(f"{hidden} private e-mail addresses and phone numbers not listed (--private lists them)",
                     highlight=False)

    def table() -> Table:
        rendered = Table(title="Entities")
        for name in ("type", "value", "documents"):
            rendered.add_column(name, overflow="fold")
        for row in rows:
            rendered.add_row(row["type"], Text(row["value"]), str(row["documents"]))
        return rendered

    emit(fmt, rows, ("type", "value", "documents"), table)


@archive_app.command("export")
def export(
    fmt: Annotated[str, typer.Option("--format", help="jsonl: one JSON object per document.")] = "jsonl",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="File to write (default: stdout).")] = None,
    collection: Annotated[str | None, typer.Option("--collection")] = None,
    private: PrivateOption = False,
    db: DbOption = None,
) -> None:
    """Every document with its metadata, text per page and entities (a file appears only whole)."""
    from censorwatch.archive import listing

    if fmt != "jsonl":
        fail(f"--format must be jsonl, not {fmt!r}")
    with opened_archive(db) as archive:
        documents = listing.export(archive, collection, include_private=private)
        if output is None:
            count = _write_lines(documents, sys.stdout.buffer)
        else:
            with written_whole(output) as temporary, temporary.open("wb") as handle:
                count = _write_lines(documents, handle)
    stderr.print(f"exported {count} documents", highlight=False)


def _write_lines(documents: Iterator[dict[str, Any]], handle: Any) -> int:
    count = 0
    for document in documents:
        handle.write(orjson.dumps(document) + b"\n")
        count += 1
    handle.flush()
    return count


@archive_app.command("reindex")
def reindex(db: DbOption = None) -> None:
    """Build the full-text index again from the store's rows (after an upgrade or a lost index)."""
    from censorwatch.archive.index import ArchiveIndex
    from censorwatch.archive.removal import finish_removals
    from censorwatch.archive.sync import rebuild

    with opened_archive(db, writable=True) as archive:
        directory = archive.index_directory
        if directory.exists():
            shutil.rmtree(directory)
        with ArchiveIndex(directory, writable=True) as index:
            count = rebuild(archive.documents, index)
            # The originals of a removal a killed run left unfinished (the index is whole now).
            finish_removals(archive, index)
    stderr.print(f"indexed {count} documents", highlight=False)


@archive_app.command("remove")
def remove(
    doc_ids: Annotated[list[str] | None, typer.Argument(
        help="Document ids (or unique prefixes, or a sha256 naming one document). None: only finish a "
             "removal an interrupted run left.", metavar="DOC_ID", show_default=False)] = None,
    fmt: TableOrJson = "table",
    db: DbOption = None,
) -> None:
    """Remove documents for good, with their attachments and members: rows, index entries, and
    originals no other document shares. Requests pointing to them stay, without the link."""
    from censorwatch.archive.index import ArchiveIndex, IndexBusyError, IndexFormatError
    from censorwatch.archive.removal import UnknownDocuments, remove_documents, resolve_all

    path = db_path(db)
    if not path.exists():
        fail(f"no store at {path}")
    with opened_archive(db, writable=True) as archive:
        try:
            # Every id is checked, then the index opened, before any row is touched: an unknown
            # id, or a busy or unreadable index, refuses the removal while nothing has changed.
            resolved = resolve_all(archive, doc_ids or [])
            with ArchiveIndex(archive.index_directory, writable=True) as index:
                report = remove_documents(archive, index, resolved)
        except UnknownDocuments as error:
            fail("nothing removed: " + "; ".join(error.problems))
        except IndexBusyError as error:
            fail(f"{error}: nothing removed; try again when it has finished")
        except IndexFormatError as error:
            fail(f"{error}: nothing removed; run `censorwatch archive reindex`, then remove again")
    if fmt == JSON:
        write_json(report.as_dict())
        return
    _print_removal(report)


def _print_removal(report: RemovalReport) -> None:
    shown = 50  # a tree may have thousands of members: `--format json` lists them all
    _rows_table("Removed", ("doc_id", "name", "collection", "inside"), [
        (row["doc_id"], row["name"], row["collection"], row["parent_id"] or "") for row in report.removed[:shown]])
    if len(report.removed) > shown:
        show(f"... and {len(report.removed) - shown} more (`--format json` lists them)", markup=False)
    for link in report.dropped_links:
        show(f"request {link['request_id']} no longer points to {link['kind']} {link['reference']}",
             markup=False, highlight=False)
    show(f"removed: {len(report.removed)} documents; originals deleted: {len(report.deleted_blobs)}, "
         f"kept because other documents share them: {len(report.kept_blobs)}; "
         f"request links dropped: {len(report.dropped_links)}", markup=False, highlight=False)
