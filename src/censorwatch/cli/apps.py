"""The typer apps every command module registers onto (imported by cli.main)."""

import typer

app = typer.Typer(
    name="censorwatch",
    help="An open observatory of internet censorship: measure, ingest, analyse and show blocking.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
ingest_app = typer.Typer(help="Bring measurements, registers and lists into the store.", no_args_is_help=True)
export_app = typer.Typer(help="Export stored data.", no_args_is_help=True)
registry_app = typer.Typer(help="Russia's register of blocked resources.", no_args_is_help=True)

app.add_typer(ingest_app, name="ingest")
app.add_typer(export_app, name="export")
app.add_typer(registry_app, name="registry")
