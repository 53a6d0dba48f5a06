"""Entry point: imports every command module so each registers itself on the apps."""

from __future__ import annotations

import importlib
import importlib.util
import signal
import sys

from censorwatch.cli.apps import app
from censorwatch.cli.common import stderr
from censorwatch.cli.stop_signals import STOP_FORMS, STOPS
from censorwatch.store.connection import StoreError

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
    "registry_latency_cmd",
    "diffusion_cmd",
    "serve_cmd",
    "events_cmd",
    "archive_cmd",
    "onboard_cmd",
    "geoip_cmd",
)

for _name in COMMAND_MODULES:
    importlib.import_module(f"censorwatch.cli.{_name}")


def _children_skip_the_script() -> None:
    """Dask's local workers (`process --cluster local`) are spawned processes, and a spawned
    process first runs its parent's __main__ again when that is a script: for the `censorwatch`
    console script, every command module, imports a worker never uses (a 100,000-measurement
    `process` took 7.1-7.2 s with them, 6.85-6.9 s without). Named as the package's __main__,
    which multiprocessing does not run again in a child, the script is skipped; it defines
    nothing a child needs."""
    script = sys.modules.get("__main__")
    if script is not None and script.__spec__ is None:
        script.__spec__ = importlib.util.find_spec("censorwatch.__main__")


def main() -> None:
    _children_skip_the_script()
    with STOPS.catching(signal.SIGINT):
        try:
            app()
        except StoreError as error:  # the store cannot be used as asked: say why, no traceback
            stderr.print(f"[bold red]error:[/] {error}", highlight=False)
            raise SystemExit(2) from None
        except STOP_FORMS as error:
            if not STOPS.surfaced_as(error):
                raise
            # Ctrl-C inside a DuckDB statement (cli/stop_signals.py): a stop, not a crash. DuckDB
            # undoes the interrupted statement; what earlier statements committed stays.
            stderr.print("interrupted; what was stored stays stored", highlight=False)
            raise SystemExit(130) from None
