"""The probe's upload spool: measurements waiting for a collector, one file each.

One file per entry (written to tmp/, fsync'd, renamed into pending/) so that an entry is either
wholly there or not there at all after a crash, and removing one acknowledged entry is a single
unlink. Entries the collector refuses for good move to rejected/ with the reason: a volunteer's
measurement is never silently dropped. (ooni/spec bk-003 §3.2: "A probe SHOULD cache measurements
that it could not submit because of network errors and SHOULD retry at a later time.")
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from censorwatch.durable import fsync_dir, replace_durably

PENDING = "pending"
REJECTED = "rejected"
TMP = "tmp"


def default_spool_dir(db: Path | None = None) -> Path:
    """Next to the DB when one is given, else ~/.local/share/censorwatch/upload-spool/."""
    if db is not None:
        return db.parent / "upload-spool"
    data_home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return data_home / "censorwatch" / "upload-spool"


@dataclass
class SpoolEntry:
    measurement: dict[str, Any]
    collector: str
    report_id: str | None = None  # the collector report it was (last) submitted to

    def to_json(self) -> bytes:
        return orjson.dumps(
            {"collector": self.collector, "report_id": self.report_id, "measurement": self.measurement}
        )

    @staticmethod
    def from_json(data: bytes) -> SpoolEntry:
        value = orjson.loads(data)
        if not isinstance(value, dict) or not isinstance(value.get("measurement"), dict):
            raise ValueError("not a spool entry")
        collector = value.get("collector")
        report_id = value.get("report_id")
        if not isinstance(collector, str) or not (report_id is None or isinstance(report_id, str)):
            raise ValueError("not a spool entry")
        return SpoolEntry(value["measurement"], collector, report_id)


class UploadSpool:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.pending = directory / PENDING
        self.rejected = directory / REJECTED
        self._tmp = directory / TMP
        for path in (self.pending, self.rejected, self._tmp):
            path.mkdir(parents=True, exist_ok=True)

    def discard_torn(self) -> int:
        """Remove half-written temporaries left by a crash (never renamed, so never pending)."""
        removed = 0
        for leftover in self._tmp.iterdir():
            leftover.unlink(missing_ok=True)
            removed += 1
        return removed

    def _write(self, target: Path, data: bytes) -> None:
        replace_durably(self._tmp / f"{target.name}.{secrets.token_hex(4)}", target, data)

    def put(self, entry: SpoolEntry) -> Path:
        # Names sort in spooling order, so a flush submits in the order measurements finished.
        path = self.pending / f"{time.time_ns():020d}-{secrets.token_hex(4)}.json"
        self._write(path, entry.to_json())
        return path

    def update(self, path: Path, entry: SpoolEntry) -> None:
        self._write(path, entry.to_json())

    def remove(self, path: Path) -> None:
        path.unlink(missing_ok=True)
        fsync_dir(path.parent)

    def reject(self, path: Path, reason: str) -> Path:
        target = self.rejected / path.name
        os.replace(path, target)
        self._write(target.with_suffix(".reason"), reason.encode())
        return target

    def paths(self) -> list[Path]:
        return sorted(self.pending.glob("*.json"))

    def __len__(self) -> int:
        return len(self.paths())

    def entries(self) -> Iterator[tuple[Path, SpoolEntry]]:
        """Pending entries in order; one that cannot be read is moved to rejected/."""
        for path in self.paths():
            try:
                entry = SpoolEntry.from_json(path.read_bytes())
            except FileNotFoundError:
                continue  # flushed meanwhile by another uploader
            except (OSError, ValueError) as error:
                self.reject(path, f"unreadable spool entry: {error}")
                continue
            yield path, entry
