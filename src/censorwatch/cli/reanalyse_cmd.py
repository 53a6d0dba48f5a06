"""`censorwatch reanalyse`: the stored measurements judged again by the installed code."""

from __future__ import annotations

import typer

from censorwatch.cli.apps import app
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
    progress,
    stderr,
)
from censorwatch.cli.stop_signals import STOPS
from censorwatch.sources.reanalysis import reanalyse
from censorwatch.store import Store


@app.command("reanalyse")
def reanalyse_command(
    db: DbOption = None,
    probe_cc: ProbeCcOption = None,
    test_name: TestNameOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
) -> None:
    """Judge stored measurements again with this censorwatch's rules and fingerprints (after an
    upgrade): only the verdict columns of rows whose verdict changed are rewritten."""
    start, end = day_range(since, until)
    with Store(existing_store(db)) as store, progress("re-analysing", unit="measurements") as bar:
        result = reanalyse(store, probe_cc, test_name, start, end, on_progress=STOPS.then_check(bar.advance))
    for line in result.summary_lines():
        stderr.print(line, highlight=False, markup=False, soft_wrap=True)
    if result.unreadable:
        stderr.print(
            f"{result.unreadable} stored measurements could not be read back and keep their verdicts "
            f"(e.g. {result.example}: {result.why}); {CANS_HINT}",
            highlight=False, markup=False, soft_wrap=True,
        )
        raise typer.Exit(1)
    if result.read == 0 and (probe_cc or test_name or since or until):
        fail("no stored measurement matches these filters", code=1)
