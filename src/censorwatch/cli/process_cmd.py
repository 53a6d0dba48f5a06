"""`censorwatch process` (re-analyse a raw-layout tree into Parquet, on Dask) and
`censorwatch ingest parquet` (load that Parquet into the store)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from censorwatch.cli.apps import app, ingest_app
from censorwatch.cli.common import DbOption, db_path, fail, progress, stderr
from censorwatch.cli.stop_signals import STOPS
from censorwatch.distributed.process import RAW_MODES, ProcessError, process_single, process_tree
from censorwatch.distributed.results import FileResult
from censorwatch.sources.parquet import ParquetSourceError, load_parquet
from censorwatch.store import Store


@app.command("process")
def process(
    path: Annotated[Path, typer.Argument(help="A raw-layout tree (raw/YYYYMMDD/HH/CC/testname/*.jsonl.gz) or file.")],
    out: Annotated[Path, typer.Option("--out", help="Output directory for the Parquet parts.")],
    cluster: Annotated[
        str, typer.Option("--cluster", help="'local' (a LocalCluster), 'none' (this process) or tcp://HOST:PORT.")
    ] = "local",
    workers: Annotated[int, typer.Option("--workers", min=1, help="Workers of the local cluster.")] = 2,
    raw: Annotated[
        str,
        typer.Option(
            "--raw",
            metavar="copy|link|embed",
            help="copy: rows of .jsonl.gz files point into a copy of their input file kept in "
            "--out/inputs (a hard link on the same file system), so that --out is complete in itself. "
            "link: they point into the input file itself; keep PATH where it is until `ingest parquet` "
            "has read it. embed: every part keeps its measurements' JSON, complete in itself (about a "
            "quarter more CPU).",
        ),
    ] = "copy",
    files_per_task: Annotated[
        int,
        typer.Option(
            "--files-per-task",
            min=1,
            help="Let up to this many input files smaller than 1 MB (gzipped) share a Dask task; each keeps "
            "its own parts and its own record of being finished. 1 (the default): one task per file. Dask's "
            "scheduling costs about as much per task as a small hourly OONI file takes to process: a tree "
            "of many small files runs about 1.7 times as fast with 8.",
        ),
    ] = 1,
    redo: Annotated[
        bool,
        typer.Option(
            "--redo",
            help="Process every file again, even those an earlier run into --out finished with the same "
            "options and the same censorwatch (by default they are skipped: a run that stopped goes on).",
        ),
    ] = False,
) -> None:
    """Re-analyse a raw-layout tree into Parquet (test_name/probe_cc/date), one Dask task per file.

    Load the result with `censorwatch ingest parquet`. Run again into the same --out, it processes
    only the files that no earlier run finished (or that changed since). With tcp://HOST:PORT the workers must see
    PATH and --out at the same paths (shared file system)."""
    if cluster not in ("local", "none") and not cluster.startswith(("tcp://", "tls://")):
        fail(f"--cluster must be local, none or tcp://HOST:PORT, not {cluster!r}")
    if raw not in RAW_MODES:
        fail(f"--raw must be one of {', '.join(RAW_MODES)}, not {raw!r}")
    with progress("processing", unit="files") as reporter:
        def advance(_: FileResult) -> None:
            reporter.advance()

        try:
            if cluster == "none":
                stats = process_single(path, out, on_file=advance, raw=raw, redo=redo)
            else:
                stats = process_tree(path, out, cluster, workers, on_file=advance, raw=raw, redo=redo,
                                     files_per_task=files_per_task)
        except ProcessError as error:
            fail(str(error))
    for line in stats.summary_lines():
        stderr.print(line, highlight=False)
    if raw == "link" and stats.written:
        stderr.print(
            f"the parts of .jsonl.gz files point into them: keep {path} where it is until "
            f"`censorwatch ingest parquet {out}` has loaded them (or give it --moved OLD=NEW)",
            highlight=False,
        )
    if stats.failed_files:
        raise typer.Exit(1)


@ingest_app.command("parquet")
def ingest_parquet(
    directory: Annotated[Path, typer.Argument(help="Output of `censorwatch process`.")],
    db: DbOption = None,
    moved: Annotated[
        list[str] | None,
        typer.Option(
            "--moved",
            metavar="OLD=NEW",
            help="Parts of `process --raw link` name input files under OLD, which are now under NEW "
            "(moved, or mounted elsewhere). Repeatable.",
        ),
    ] = None,
    reread: Annotated[
        bool,
        typer.Option("--reread", help="Read every part again, even those an earlier load into this store read "
                     "and that have not changed since (by default they are skipped)."),
    ] = False,
) -> None:
    """Load Parquet parts into the store; measurements already stored are skipped, and so are
    parts an earlier load read whole."""
    relocations = [_relocation(value) for value in moved or []]
    with Store(db_path(db)) as store, progress("loading", unit="input files") as bar:
        try:
            loaded = load_parquet(store, directory, relocations, reread=reread, on_file=STOPS.then_check(bar.advance))
        except ParquetSourceError as error:
            fail(str(error))
    stderr.print(
        f"parts: {loaded.parts}, rows: {loaded.rows}, stored: {loaded.stored}, already stored: {loaded.duplicates}",
        highlight=False,
    )
    if loaded.parts_read_before:
        stderr.print(f"parts an earlier load into this store read whole, not read again: {loaded.parts_read_before} "
                     f"({loaded.rows_read_before} rows; --reread reads them again)", highlight=False, soft_wrap=True)
    if loaded.linked_files:
        stderr.print(f"input files kept for linked rows: {loaded.linked_files}", highlight=False)
    if loaded.skipped:
        stderr.print(f"skipped rows: {sum(loaded.skipped.values())}", highlight=False)
        for reason, count in loaded.skipped.most_common():
            stderr.print(f"  {count} x {reason} (e.g. {loaded.examples[reason]})", highlight=False)
        # Rows of a missing or replaced input file are not stored: a script must notice.
        raise typer.Exit(1)


def _relocation(value: str) -> tuple[Path, Path]:
    old, sep, new = value.partition("=")
    if not sep or not old or not new:
        fail(f"--moved takes OLD=NEW (two directories), not {value!r}")
    return Path(old), Path(new).absolute()
