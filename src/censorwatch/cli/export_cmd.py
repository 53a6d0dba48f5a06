"""`censorwatch export verdicts`: one row per measurement, JSON Lines or CSV."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from censorwatch.cli.apps import export_app
from censorwatch.cli.common import DbOption, db_path, fail, stderr
from censorwatch.model.measurement import parse_time
from censorwatch.store import Store
from censorwatch.store.export import FORMATS, verdict_rows, write_rows


@export_app.command("verdicts")
def export_verdicts(
    db: DbOption = None,
    fmt: Annotated[str, typer.Option("--format", help="jsonl or csv")] = "jsonl",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File (default: stdout).")] = None,
    probe_cc: Annotated[str | None, typer.Option("--probe-cc")] = None,
    test_name: Annotated[str | None, typer.Option("--test-name")] = None,
    since: Annotated[str | None, typer.Option("--since", help="YYYY-MM-DD")] = None,
    until: Annotated[str | None, typer.Option("--until", help="YYYY-MM-DD (exclusive)")] = None,
) -> None:
    """One row per measurement: uid, input, network, time, verdict, blocking, fingerprint, reason."""
    if fmt not in FORMATS:
        fail(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    path = db_path(db)
    if not path.exists():
        fail(f"no store at {path}: run `censorwatch probe` or `censorwatch ingest` first")
    with Store(path, read_only=True) as store:
        rows = verdict_rows(store, probe_cc, test_name, parse_time(since), parse_time(until))
        if output is None:
            count = write_rows(rows, sys.stdout, fmt)
        else:
            with output.open("w", encoding="utf-8", newline="") as out:
                count = write_rows(rows, out, fmt)
    stderr.print(f"exported {count} verdicts", highlight=False)
