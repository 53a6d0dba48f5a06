"""Entry point: imports every command module so each registers itself on the apps."""

from __future__ import annotations

import importlib
import signal

import duckdb

from censorwatch.cli.apps import app
from censorwatch.cli.common import stderr
from censorwatch.cli.stop_signals import STOPS
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
    with STOPS.catching(signal.SIGINT):
        try:
            app()
        except StoreError as error:  # the store cannot be used as asked: say why, no traceback
            stderr.print(f"[bold red]error:[/] {error}", highlight=False)
            raise SystemExit(2) from None
        except (RuntimeError, duckdb.Error) as error:
            if not STOPS.surfaced_as(error):
                raise
            # Ctrl-C inside a DuckDB statement (cli/stop_signals.py): a stop, not a crash. Every
            # command commits what it stores in transactions, so what was stored stays.
            stderr.print("interrupted; what was stored stays stored", highlight=False)
            raise SystemExit(130) from None
