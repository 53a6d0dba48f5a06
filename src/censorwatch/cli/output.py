"""How commands print their results on stdout: one --format option, and rows as a table, JSON or CSV.

A table is for people and keeps rich's look on a terminal. Printed to a pipe or a file it is as
wide as its content instead: rich, finding no terminal size there, fits it into 80 columns and
cuts every long cell into a column of fragments, which `less`, `grep` and `cut` cannot use.
JSON and CSV are for scripts: nothing else is written to stdout with them (messages go to stderr).
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import IO, Annotated, Any

import orjson
import typer
from rich.console import Console, RenderableType

from censorwatch.cli.common import fail

TABLE, JSON, CSV = "table", "json", "csv"

# Wide enough for any cell a command prints; not sys.maxsize, so that a renderable which fills
# the console's width (a rule, an expanded panel) stays a line a pager can hold.
UNBOUNDED_WIDTH = 1_000_000


def _choices(*names: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in names:
            fail(f"--format must be one of {', '.join(names)}, not {value!r}")
        return value

    return check


def _format_option(*names: str) -> Any:
    return typer.Option("--format", help=f"{', '.join(names[:-1])} or {names[-1]}.", callback=_choices(*names))


# For commands whose output is several tables or nested records (no flat rows for CSV).
TableOrJson = Annotated[str, _format_option(TABLE, JSON)]
# For commands whose output is one list of flat rows.
TableJsonOrCsv = Annotated[str, _format_option(TABLE, JSON, CSV)]


def _has_width(stream: IO[str]) -> bool:
    """Whether stdout is a terminal, which has a width to fit tables into. Not rich's is_terminal:
    FORCE_COLOR makes that true on a pipe, which has colours then but still no width."""
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty is not None and isatty())
    except ValueError:  # a closed stream
        return False


def console() -> Console:
    """The console for stdout. Made at each call: tests (and typer's runner) swap sys.stdout."""
    terminal = Console()
    if _has_width(terminal.file):
        return terminal
    return Console(width=UNBOUNDED_WIDTH)


def show(renderable: RenderableType, *, highlight: bool | None = None, markup: bool | None = None) -> None:
    """Print a table or a message on stdout; on a pipe, no line is wrapped."""
    console().print(renderable, highlight=highlight, markup=markup)


def write_json(document: object, *, indent: bool = False) -> None:
    """One JSON document on stdout. Dates and times as ISO 8601 strings (orjson's own form)."""
    data = orjson.dumps(document, option=orjson.OPT_INDENT_2 if indent else 0)
    sys.stdout.flush()
    sys.stdout.buffer.write(data + b"\n")
    sys.stdout.buffer.flush()


def csv_cell(value: object) -> object:
    """A value as a CSV cell: null as empty, a list joined with ';' (as `report --format csv` always
    did; a list item holding ';' itself is ambiguous there, and JSON is the format that keeps it)."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ";".join(str(csv_cell(item)) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def write_csv(rows: Iterable[Mapping[str, Any]], fields: Sequence[str]) -> None:
    """A header row of `fields`, then one line per row; a field a row lacks is an error, not a blank."""
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(fields)
    for row in rows:
        writer.writerow([csv_cell(row[field]) for field in fields])
    sys.stdout.flush()


def emit(fmt: str, rows: Sequence[Mapping[str, Any]], fields: Sequence[str],
         table: Callable[[], RenderableType], *, indent: bool = False) -> None:
    """Rows in the format asked: a JSON list of row objects, CSV with `fields` as columns, or the table."""
    if fmt == JSON:
        write_json(list(rows), indent=indent)
    elif fmt == CSV:
        write_csv(rows, fields)
    else:
        show(table())
