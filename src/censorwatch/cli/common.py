"""Options and output helpers shared by commands."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from datetime import time as time_of_day
from pathlib import Path
from typing import Annotated, NoReturn

import duckdb
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from censorwatch.store import Store, default_db_path

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="DuckDB store (default: $CENSORWATCH_DB or ~/.local/share/censorwatch/)."),
]

# Filters of the commands that read a store's measurements (export, reanalyse).
ProbeCcOption = Annotated[str | None, typer.Option("--probe-cc")]
TestNameOption = Annotated[str | None, typer.Option("--test-name")]
SinceOption = Annotated[str | None, typer.Option("--since", help="YYYY-MM-DD")]
UntilOption = Annotated[str | None, typer.Option("--until", help="YYYY-MM-DD (exclusive)")]

# Why a stored measurement most often cannot be read back.
CANS_HINT = "a store keeps gzip files whole in its .cans directory beside the .duckdb file: was it copied too?"

# Messages and progress; results go to stdout through cli/output.py.
stderr = Console(stderr=True)


def db_path(given: Path | None) -> Path:
    return given if given is not None else default_db_path()


def existing_store(db: Path | None) -> Path:
    """The store's path, or a clear error when there is none to read."""
    path = db_path(db)
    if not path.exists():
        fail(f"no store at {path}: run `censorwatch probe` or `censorwatch ingest` first")
    return path


@contextmanager
def reading_store(
    db: Path | None, missing: str = "run `censorwatch probe` or `censorwatch ingest` first"
) -> Iterator[Store]:
    """The store opened read-only, or a clear error: none there (`missing` says what to run), or
    one DuckDB cannot open (another program writing it)."""
    path = db_path(db)
    if not path.exists():
        fail(f"no store at {path}: {missing}")
    try:
        store = Store(path, read_only=True)
    except duckdb.Error as error:
        fail(f"cannot open the store {path}: {error}")
    try:
        yield store
    finally:
        store.close()


def day_range(since: str | None, until: str | None) -> tuple[datetime | None, datetime | None]:
    """--since and --until as the midnights that start those days (UTC, as stored)."""
    return _midnight(parse_day(since, "--since")), _midnight(parse_day(until, "--until"))


def _midnight(day: date | None) -> datetime | None:
    return datetime.combine(day, time_of_day()) if day is not None else None


def fail(message: str, code: int = 2) -> NoReturn:
    """A run that could not do its job: a clear message on stderr and a non-zero exit."""
    stderr.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def parse_day(value: str | None, option: str) -> date | None:
    """A YYYY-MM-DD option, or a clear error naming the option."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} must be a date YYYY-MM-DD, not {value!r}")


class Reporter:
    """Progress for long jobs: a rich bar on a terminal, a plain line every few seconds otherwise
    (logs and CI read plain lines)."""

    def __init__(self, description: str, total: int | None, unit: str, plain_every: float = 5.0) -> None:
        self.description = description
        self.total = total
        self.unit = unit
        self.done = 0
        self.started = time.monotonic()
        self._plain_every = plain_every
        self._last_plain = self.started
        self._progress: Progress | None = None
        self._task: int | None = None

    def advance(self, count: int = 1) -> None:
        self.done += count
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, advance=count)  # type: ignore[arg-type]
            return
        now = time.monotonic()
        if now - self._last_plain >= self._plain_every:
            self._last_plain = now
            print(self.line(), file=sys.stderr, flush=True)

    def rate(self) -> float:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        return self.done / elapsed

    def line(self) -> str:
        of_total = f"/{self.total}" if self.total is not None else ""
        return f"{self.description}: {self.done}{of_total} {self.unit} ({self.rate():.1f} {self.unit}/s)"


@contextmanager
def progress(description: str, total: int | None = None, unit: str = "items") -> Iterator[Reporter]:
    reporter = Reporter(description, total, unit)
    if not sys.stderr.isatty():
        yield reporter
        return
    columns = [
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn() if total is not None else TextColumn("{task.completed}"),
        TaskProgressColumn() if total is not None else TextColumn(unit),
        TimeElapsedColumn(),
        TextColumn("{task.fields[rate]}"),
    ]
    with Progress(*columns, console=stderr, transient=False) as bar:
        reporter._progress = bar
        reporter._task = bar.add_task(description, total=total, rate="")  # type: ignore[assignment]
        try:
            yield reporter
        finally:
            bar.update(reporter._task, rate=f"{reporter.rate():.1f} {unit}/s")  # type: ignore[arg-type]
