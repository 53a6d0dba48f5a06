"""What a `censorwatch` command imports before it starts, and what each Dask worker of
`process --cluster local` imports again: the command line runs its imports once, in the parent,
and never the web server's or the lab's unless the command is theirs."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.test_process_dask import measurement

pytestmark = pytest.mark.integration

CONSOLE_SCRIPT = Path(sys.executable).parent / "censorwatch"


def test_the_command_line_loads_no_server_or_lab() -> None:
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, censorwatch.cli.main; "
         "print(sorted(m for m in ('fastapi', 'uvicorn', 'cryptography', 'censorwatch.lab') if m in sys.modules))"],
        capture_output=True, text=True, timeout=120, check=True,
    )
    assert loaded.stdout.strip() == "[]"


@pytest.mark.skipif(not CONSOLE_SCRIPT.exists(), reason="the censorwatch console script is not installed here")
def test_workers_of_the_console_script_do_not_import_the_command_line(tmp_path: Path) -> None:
    folder = tmp_path / "raw" / "20240301" / "00" / "RU" / "telegram"
    folder.mkdir(parents=True)
    for number in range(3):
        lines = [json.dumps(measurement(10 * number + n, "telegram", "RU", "2024-03-01")) for n in range(5)]
        (folder / f"f{number}.jsonl.gz").write_bytes(gzip.compress("\n".join(lines).encode() + b"\n"))
    # Python reports every import of every process that inherits this, the workers included.
    environment = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    done = subprocess.run(
        [str(CONSOLE_SCRIPT), "process", str(tmp_path / "raw"), "--out", str(tmp_path / "parts"), "--workers", "2"],
        capture_output=True, text=True, timeout=300, env=environment,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    # "import time: <self us> | <cumulative us> | <module, indented by depth>"
    imported = [line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")]
    assert imported.count("censorwatch.distributed.parts") == 3  # the parent and both workers
    assert imported.count("censorwatch.cli.main") == 1  # the parent only
    assert len(list((tmp_path / "parts").rglob("*.parquet"))) == 3
