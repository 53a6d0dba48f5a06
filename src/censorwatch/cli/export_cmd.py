"""`censorwatch export verdicts` (one row per measurement: JSON Lines, CSV or Parquet) and
`censorwatch export measurements` (the stored measurements in OONI's JSON Lines format)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from censorwatch.cli.apps import export_app
from censorwatch.cli.common import (
    CANS_HINT,
    DbOption,
    ProbeCcOption,
    SinceOption,
    TestNameOption,
    UntilOption,
    day_range,
    existing_store,
    fail,
    stderr,
)
from censorwatch.store import Store
from censorwatch.store.export import (
    FORMATS,
    verdict_rows,
    write_measurements,
    write_measurements_file,
    write_parquet,
    write_rows,
)

OutputOption = Annotated[Path | None, typer.Option("--output", "-o", help="File (default: stdout).")]


@export_app.command("verdicts")
def export_verdicts(
    db: DbOption = None,
    fmt: Annotated[str, typer.Option("--format", help="jsonl, csv or parquet (parquet needs --output)")] = "jsonl",
    output: OutputOption = None,
    probe_cc: ProbeCcOption = None,
    test_name: TestNameOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
) -> None:
    """One row per measurement: uid, input, network, time, verdict, blocking, fingerprint, reason."""
    if fmt not in FORMATS:
        fail(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if fmt == "parquet" and output is None:
        fail("--format parquet writes a file: give it with --output FILE")
    start, end = day_range(since, until)
    with Store(existing_store(db), read_only=True) as store:
        rows = verdict_rows(store, probe_cc, test_name, start, end, times_as_text=fmt != "parquet")
        if output is None:
            count = write_rows(rows, sys.stdout, fmt)
        elif fmt == "parquet":
            count = write_parquet(rows, output)
        else:
            with output.open("w", encoding="utf-8", newline="") as out:
                count = write_rows(rows, out, fmt)
    stderr.print(f"exported {count} verdicts", highlight=False)


@export_app.command("measurements")
def export_measurements(
    db: DbOption = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File; .jsonl.gz is gzipped (default: stdout).")
    ] = None,
    probe_cc: ProbeCcOption = None,
    test_name: TestNameOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
) -> None:
    """The stored measurements in OONI's format: JSON Lines, each exactly as it was received."""
    start, end = day_range(since, until)
    with Store(existing_store(db), read_only=True) as store:
        if output is None:
            result = write_measurements(store, sys.stdout.buffer, probe_cc, test_name, start, end)
            sys.stdout.buffer.flush()
        else:
            result = write_measurements_file(store, output, probe_cc, test_name, start, end)
    joined = f" ({result.joined} received pretty-printed, written on one line)" if result.joined else ""
    stderr.print(f"exported {result.written} measurements{joined}", highlight=False)
    if result.damaged:
        stderr.print(
            f"skipped {result.damaged} stored measurements whose raw data cannot be read back "
            f"(e.g. {result.example}: {result.why}); {CANS_HINT}",
            highlight=False,
        )
        raise typer.Exit(1)

