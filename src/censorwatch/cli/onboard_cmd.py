"""`censorwatch onboard`: tell the user what a measurement reveals and risks, then record consent."""

from __future__ import annotations

from typing import Annotated

import typer

from censorwatch.cli.apps import app
from censorwatch.cli.common import fail, stderr
from censorwatch.cli.output import show
from censorwatch.probe.consent import QUIZ, RISKS, ConsentError, consent_path, record_consent


def _explain() -> None:
    show("[bold]Before you measure: things to know[/]\n")
    for number, paragraph in enumerate(RISKS, 1):
        show(f"{number}. {paragraph}\n", highlight=False)


def _quiz() -> None:
    """OONI Probe's onboarding quiz: a wrong answer is corrected, not punished; the point is that
    the user has read and understood, not that they pass a test."""
    show("[bold]Two quick questions[/]\n")
    for question in QUIZ:
        show(question.statement, highlight=False)
        correct = _true_or_false() == question.answer
        show(("[green]Correct.[/] " if correct else "[yellow]Not quite.[/] ") + question.explanation + "\n",
             highlight=False)


def _true_or_false() -> bool:
    while True:
        answer = str(typer.prompt("True or false? [t/f]")).strip().lower()
        if answer in ("t", "true"):
            return True
        if answer in ("f", "false"):
            return False
        show("Please answer true or false.", highlight=False)


@app.command("onboard")
def onboard(
    yes: Annotated[
        bool, typer.Option("--yes", help="Record consent without questions (for scripts that showed the text).")
    ] = False,
) -> None:
    """Explain what running the probe reveals and risks; record your consent (needed before `probe`)."""
    if yes:
        _record("--yes")
        return
    _explain()
    _quiz()
    if not typer.confirm("Knowing this, do you want to run censorwatch probe from this network?", default=False):
        stderr.print("nothing recorded: `censorwatch probe` will not measure until you agree", highlight=False)
        raise typer.Exit(1)
    _record("interactive")


def _record(how: str) -> None:
    try:
        consent = record_consent(how)
    except ConsentError as error:
        fail(str(error))
    stderr.print(f"consent recorded in {consent_path()} (text version {consent.version}, {consent.date})",
                 highlight=False)
