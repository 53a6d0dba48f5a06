"""`censorwatch export verdicts` (one row per measurement: JSON Lines, CSV or Parquet) and
`censorwatch export measurements` (the stored measurements in OONI's JSON Lines format)."""

from __future__ import annotations

import gzip
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, BinaryIO

import typer

from censorwatch.cli.apps import export_app
from censorwatch.cli.common import DbOption, db_path, fail, stderr
from censorwatch.model.measurement import parse_time
from censorwatch.store import Store
from censorwatch.store.export import FORMATS, verdict_rows, write_measurements, write_parquet, write_rows

OutputOption = Annotated[Path | None, typer.Option("--output", "-o", help="File (default: stdout).")]
ProbeCcOption = Annotated[str | None, typer.Option("--probe-cc")]
TestNameOption = Annotated[str | None, typer.Option("--test-name")]
SinceOption = Annotated[str | None, typer.Option("--since", help="YYYY-MM-DD")]
UntilOption = Annotated[str | None, typer.Option("--until", help="YYYY-MM-DD (exclusive)")]


def _moment(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    moment = parse_time(value)
    if moment is None:
        fail(f"{option} must be a date YYYY-MM-DD, not {value!r}")
    return moment


def _store_path(db: Path | None) -> Path:
    path = db_path(db)
    if not path.exists():
        fail(f"no store at {path}: run `censorwatch probe` or `censorwatch ingest` first")
    return path


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
    start, end = _moment(since, "--since"), _moment(until, "--until")
    with Store(_store_path(db), read_only=True) as store:
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
    start, end = _moment(since, "--since"), _moment(until, "--until")
    with Store(_store_path(db), read_only=True) as store:
        if output is None:
            result = write_measurements(store, sys.stdout.buffer, probe_cc, test_name, start, end)
            sys.stdout.buffer.flush()
        else:
            # Written beside the target and renamed when complete: an interrupted export never
            # leaves a truncated file under the name asked for.
            temporary = output.with_name(f".{output.name}.tmp")
            try:
                with _open_output(temporary, gzipped=output.name.endswith(".gz")) as out:
                    result = write_measurements(store, out, probe_cc, test_name, start, end)
                temporary.replace(output)
            finally:
                temporary.unlink(missing_ok=True)
    joined = f" ({result.joined} received pretty-printed, written on one line)" if result.joined else ""
    stderr.print(f"exported {result.written} measurements{joined}", highlight=False)
    if result.damaged:
        stderr.print(
            f"skipped {result.damaged} stored measurements whose raw data is damaged (e.g. {result.example})",
            highlight=False,
        )
        raise typer.Exit(1)


GZIP_LEVEL = 6  # gzip's own default: what OONI's cans are read with, at a third of level 9's time


def _open_output(path: Path, gzipped: bool) -> BinaryIO:
    if not gzipped:
        return path.open("wb")
    try:
        from zlib_ng import gzip_ng  # the same gzip format, written 2.4 times as fast
    except ImportError:
        return gzip.open(path, "wb", compresslevel=GZIP_LEVEL)  # type: ignore[return-value]
    return gzip_ng.open(path, "wb", compresslevel=GZIP_LEVEL)  # type: ignore[no-any-return,no-untyped-call]
