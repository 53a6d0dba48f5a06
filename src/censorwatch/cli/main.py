"""Entry point: imports every command module so each registers itself on the apps."""

from __future__ import annotations

import importlib

from censorwatch.cli.apps import app

# One module per command (or command group); each registers onto censorwatch.cli.apps.
COMMAND_MODULES = (
    "probe_cmd",
    "test_helper_cmd",
    "lab_cmd",
    "export_cmd",
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
    app()
