"""`censorwatch lab`: start the censor emulator on loopback and print how to probe through it."""

from __future__ import annotations

import shlex
import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from censorwatch.cli.apps import app
from censorwatch.cli.common import fail, stderr
from censorwatch.cli.output import show

if TYPE_CHECKING:
    from censorwatch.lab import Lab


@contextmanager
def _stop_on_signal() -> Iterator[threading.Event]:
    """Ctrl-C and SIGTERM set the event instead of raising, from the very start (the lab must always reach stop()
    so that its iptables rules are removed)."""
    stop = threading.Event()
    previous = {number: signal.signal(number, lambda *_: stop.set()) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _table(lab: Lab) -> Table:
    table = Table(title=f"censorwatch lab cases (censored source {lab.censored_source})")
    for column in ("case", "url", "expected verdict", "expected blocking", "runs"):
        table.add_column(column)
    for case in lab.cases:
        runnable = lab.iptables_active or not case.needs_root
        table.add_row(
            case.name,
            case.url,
            case.expected_verdict,
            case.expected_blocking or "-",
            "yes" if runnable else "no (needs root + iptables)",
        )
    return table


def _app_table(lab: Lab) -> Table:
    table = Table(title="cases of the other tests (probe --test NAME --endpoints FILE)")
    for column in ("case", "test", "expected verdict", "expected blocking", "runs"):
        table.add_column(column)
    for case in lab.app_cases:
        runnable = lab.iptables_active or not case.needs_root
        table.add_row(case.name, case.test_name, case.expected_verdict, case.expected_blocking or "-",
                      "yes" if runnable else "no (needs root + iptables)")
    return table


@app.command("lab")
def lab(
    workdir: Annotated[
        Path | None, typer.Option("--workdir", help="Where the CA and the test list go (default: a temp dir).")
    ] = None,
    censored_source: Annotated[
        str, typer.Option("--censored-source", help="Loopback address whose traffic the lab censors.")
    ] = "127.0.0.2",
    no_iptables: Annotated[
        bool, typer.Option("--no-iptables", help="Skip the cases that need iptables (TCP drop and reject).")
    ] = False,
    tests: Annotated[
        list[str] | None,
        typer.Option("--test", help="Start the scenarios of these probe tests only (default: all); repeatable."),
    ] = None,
) -> None:
    """Run the censor emulator on loopback until Ctrl-C: DNS, TCP, TLS and HTTP interference by source address."""
    # Here, not at the top: the lab's TLS imports would slow every other command's start.
    from censorwatch.lab import Lab

    directory = workdir if workdir is not None else Path(tempfile.mkdtemp(prefix="censorwatch-lab-"))
    try:
        directory.mkdir(parents=True, exist_ok=True)
        the_lab = Lab(directory, censored_source=censored_source, use_iptables=False if no_iptables else None,
                      tests=tests)
    except (OSError, ValueError) as error:
        fail(str(error))
    with _stop_on_signal() as stop:
        _run(the_lab, directory, stop)
    stderr.print("lab stopped; iptables rules removed" if the_lab.used_iptables else "lab stopped", highlight=False)


def _run(the_lab: Lab, directory: Path, stop: threading.Event) -> None:
    from censorwatch.lab import LabError

    try:
        the_lab.start()
    except (OSError, LabError) as error:
        fail(f"the lab could not start: {error}")
    try:
        test_list = directory / "lab-test-list.csv"
        the_lab.write_test_list(test_list)
        show(_table(the_lab))
        show(
            f"resolver      {the_lab.resolver}\ntest helper   {the_lab.test_helper_url}\n"
            f"CA file       {the_lab.ca_file}\ntest list     {test_list}\n"
            f"iptables      {'on' if the_lab.iptables_active else 'off'}",
            highlight=False,
        )
        command = the_lab.probe_command(test_list, directory / "lab-measurements.jsonl")
        show("\nProbe through the lab with (once per user first: `censorwatch onboard`, what probing reveals):",
             highlight=False)
        print(shlex.join(command), flush=True)
        if the_lab.app_cases:
            show(_app_table(the_lab))
            example = the_lab.runnable_app_cases[0] if the_lab.runnable_app_cases else the_lab.app_cases[0]
            show(f"\nEach case has its endpoints file in {directory / 'endpoints'}; for example:", highlight=False)
            print(shlex.join(the_lab.app_probe_command(example)), flush=True)
        stderr.print("\nlab running; Ctrl-C to stop", highlight=False)
        while not stop.wait(0.5):
            pass
    finally:
        the_lab.stop()
