"""Entry point: imports every command module so each registers itself on the apps."""

from __future__ import annotations

import importlib

from censorwatch.cli.apps import app
from censorwatch.cli.common import stderr
from censorwatch.store.database import StoreError

# One module per command (or command group); each registers onto censorwatch.cli.apps.
COMMAND_MODULES = (
    "probe_cmd",
    "test_helper_cmd",
    "lab_cmd",
    "export_cmd",
    "reanalyse_cmd",
    "ingest_ooni_cmd",
    "process_cmd",
    "report_cmd",
    "collector_cmd",
    "upload_cmd",
    "registry_cmd",
    "serve_cmd",
)

for _name in COMMAND_MODULES:
    importlib.import_module(f"censorwatch.cli.{_name}")


def main() -> None:
    try:
        app()
    except StoreError as error:  # the store cannot be used as asked: say why, no traceback
        stderr.print(f"[bold red]error:[/] {error}", highlight=False)
        raise SystemExit(2) from None
