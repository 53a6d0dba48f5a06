"""`censorwatch report`: the most blocked targets of a country, as a table, CSV or JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from censorwatch.analysis.aggregates import REPORT_COLUMNS, Window, most_blocked
from censorwatch.cli.apps import app
from censorwatch.cli.common import DbOption, db_path, fail, parse_day, stderr
from censorwatch.cli.output import TableJsonOrCsv, emit
from censorwatch.store import Store


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """Stable machine-readable values: times as 'YYYY-MM-DD HH:MM:SS' UTC, lists as lists."""
    out: dict[str, Any] = {}
    for name in REPORT_COLUMNS:
        value = row[name]
        if isinstance(value, datetime):
            value = value.strftime("%Y-%m-%d %H:%M:%S")
        out[name] = value
    return out


def _table(rows: list[dict[str, Any]], country: str) -> Table:
    table = Table(title=f"Most blocked targets in {country}")
    for name, justify in (("target", "left"), ("blocked", "right"), ("of", "right"), ("share", "right"),
                          ("first anomaly", "left"), ("last anomaly", "left"), ("methods", "left"),
                          ("networks", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        table.add_row(
            str(row["target"]), str(row["blocked"]), str(row["measurements"]), f"{row['blocked_share']:.0%}",
            str(row["first_anomaly"] or ""), str(row["last_anomaly"] or ""), ", ".join(row["methods"]) or "-",
            ", ".join(row["networks"][:5]) + (" …" if len(row["networks"]) > 5 else ""),
        )
    return table


@app.command("report")
def report(
    country: Annotated[str, typer.Option("--country", help="Two-letter country code (probe_cc).")],
    since: Annotated[str | None, typer.Option("--since", help="First day, YYYY-MM-DD (inclusive).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Last day, YYYY-MM-DD (inclusive).")] = None,
    fmt: TableJsonOrCsv = "table",
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many targets.")] = 20,
    db: DbOption = None,
) -> None:
    """The most blocked targets of a country, with first/last anomaly, methods and networks.

    Blocked = anomaly + confirmed verdicts; share = blocked / all measurements of the target."""
    if len(country) != 2 or not country.isalpha():
        fail(f"--country must be a two-letter country code, not {country!r}")
    window = Window(country.upper(), parse_day(since, "--since"), parse_day(until, "--until"))
    if window.since and window.until and window.since > window.until:
        fail("--since is after --until")
    path = db_path(db)
    if not path.exists():
        fail(f"no store at {path}: run `censorwatch ingest` or `censorwatch probe` first")
    with Store(path, read_only=True) as store:
        rows = [_plain(row) for row in most_blocked(store, window, limit)]
    # JSON indented, as since the option's first release: scripts may diff or grep it.
    emit(fmt, rows, REPORT_COLUMNS, lambda: _table(rows, window.probe_cc or ""), indent=True)
    if not rows:
        stderr.print(f"no anomalies for {window.probe_cc} in the store for that period", highlight=False)
