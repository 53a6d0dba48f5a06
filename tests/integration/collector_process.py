"""`python -m censorwatch collector` as a real process for tests: started on a free loopback
port (the URL read from its "listening on" line), stopped gracefully or killed."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx

from censorwatch.services.collector.framing import ScanReport
from censorwatch.services.collector.spool import read_events
from censorwatch.store import Store


class CollectorProcess:
    """`python -m censorwatch collector` with its output captured to a log file."""

    def __init__(self, workdir: Path, *extra: str) -> None:
        self.workdir = workdir
        self.db = workdir / "collector.duckdb"
        self.spool = workdir / "spool"
        self.log = workdir / "collector.log"
        self.extra = extra
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self, timeout: float = 30.0) -> CollectorProcess:
        command = [sys.executable, "-m", "censorwatch", "collector", "--listen", "127.0.0.1:0",
                   "--db", str(self.db), "--spool", str(self.spool), *self.extra]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log)
        ready = threading.Event()
        assert self.process.stdout is not None
        stdout = self.process.stdout

        def pump() -> None:
            with open(self.log, "ab") as log:
                for line in stdout:
                    log.write(line)
                    log.flush()
                    if line.startswith(b"collector listening on ") and not ready.is_set():
                        self.url = line.decode().split()[-1]
                        ready.set()

        threading.Thread(target=pump, daemon=True).start()
        if not ready.wait(timeout):
            self.kill()
            raise AssertionError(f"collector did not start: {self.log.read_text(errors='replace')}")
        return self

    def stop(self) -> None:
        """Graceful: the collector drains its spool writer and store before exiting."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            assert self.process.wait(timeout=60) == 0
        self.process = None

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)
        self.process = None

    def health(self) -> dict[str, Any]:
        data: dict[str, Any] = httpx.get(f"{self.url}/health", timeout=10).json()
        return data

    def rows(self) -> list[dict[str, Any]]:
        with Store(self.db, read_only=True) as store:
            return list(store.iter_measurements())

    def spooled_uids(self) -> list[str]:
        return [item.event["uid"] for item in read_events(self.spool, ScanReport())
                if item.event.get("kind") == "measurement"]
