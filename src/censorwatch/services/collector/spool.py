"""The collector's durable spool: append-only segment files of framed JSON events.

Every accepted measurement, and every report opened or closed, is one frame, written and fsync'd
before the client gets its success reply (ooni/spec bk-003 §3.2 point 6: persist before replying).
Each collector start appends to a fresh segment, so a torn tail left by a kill -9 is never followed
by new frames: readers skip it and it costs nothing but its bytes.

The checkpoint records how far the store has caught up with the spool, so a restart replays only
the frames after it (the store's INSERT OR IGNORE makes a longer replay harmless).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import orjson

from censorwatch.durable import fsync_dir, replace_durably
from censorwatch.services.collector.framing import Frame, ScanReport, encode_frame, scan_frames

SEGMENT_PATTERN: Final = re.compile(r"^segment-(\d{8})\.cws$")
CHECKPOINT_NAME: Final = "checkpoint.json"
ROTATE_BYTES: Final = 256 << 20


@dataclass(frozen=True, order=True)
class Position:
    """A place in the spool: segment number and byte offset in it."""

    segment: int
    offset: int


@dataclass(frozen=True)
class SpoolEvent:
    position: Position  # just after the frame
    event: dict[str, Any]


def segment_name(number: int) -> str:
    return f"segment-{number:08d}.cws"


class SpoolLog:
    """Single writer. `append` blocks on fsync: call it from a worker thread, never the event loop."""

    def __init__(self, directory: Path, rotate_bytes: int = ROTATE_BYTES) -> None:
        self.directory = directory
        self.rotate_bytes = rotate_bytes
        directory.mkdir(parents=True, exist_ok=True)
        self._segment = max(self.segments(), default=0) + 1
        self._file = self._open_segment(self._segment)
        self._size = 0
        self._failed = False

    def segments(self) -> list[int]:
        numbers = []
        for entry in self.directory.iterdir():
            match = SEGMENT_PATTERN.match(entry.name)
            if match:
                numbers.append(int(match.group(1)))
        return sorted(numbers)

    def _open_segment(self, number: int) -> Any:
        handle = open(self.directory / segment_name(number), "ab")  # noqa: SIM115 - kept open for appends
        fsync_dir(self.directory)  # the new segment's directory entry
        return handle

    @property
    def position(self) -> Position:
        return Position(self._segment, self._size)

    def append(self, events: Sequence[dict[str, Any]]) -> list[Position]:
        """Write the events as frames, fsync once (group commit), return the position after each."""
        if self._size >= self.rotate_bytes or self._failed:
            self._rotate()
        positions = []
        chunks = []
        size = self._size
        for event in events:
            frame = encode_frame(orjson.dumps(event))
            chunks.append(frame)
            size += len(frame)
            positions.append(Position(self._segment, size))
        try:
            self._file.write(b"".join(chunks))
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError:
            # Part of the batch may be on disk and, after a failed fsync, nothing is certain about
            # this file: the next append starts a new segment (readers skip the damaged frames).
            self._failed = True
            raise
        self._size = size
        return positions

    def _rotate(self) -> None:
        with contextlib.suppress(OSError):  # already reported to the requests it concerned
            self._file.close()
        self._segment += 1
        self._file = self._open_segment(self._segment)
        self._size = 0
        self._failed = False

    def close(self) -> None:
        self._file.close()
        path = self.directory / segment_name(self._segment)
        if self._size == 0 and path.exists() and path.stat().st_size == 0:
            path.unlink()


def read_events(directory: Path, report: ScanReport, after: Position | None = None) -> Iterator[SpoolEvent]:
    """Every intact event in spool order (streaming), optionally only those after `after`."""
    if not directory.is_dir():
        return
    numbers = sorted(
        int(match.group(1)) for entry in directory.iterdir() if (match := SEGMENT_PATTERN.match(entry.name))
    )
    for number in numbers:
        if after is not None and number < after.segment:
            continue
        start = after.offset if after is not None and number == after.segment else 0
        with open(directory / segment_name(number), "rb") as stream:
            for frame in scan_frames(stream, report, start):
                event = _decode(frame, report, number)
                if event is not None:
                    yield SpoolEvent(Position(number, frame.end), event)


def _decode(frame: Frame, report: ScanReport, segment: int) -> dict[str, Any] | None:
    try:
        event = orjson.loads(frame.payload)
    except orjson.JSONDecodeError:
        event = None
    if not isinstance(event, dict):
        # A checksummed frame we cannot read was written by something else: note it, skip it.
        report.notes.append(f"{segment_name(segment)}@{frame.offset}: frame is not a JSON object")
        return None
    return event


@dataclass(frozen=True)
class Checkpoint:
    """The store identified by `store` holds every measurement event before `position`."""

    position: Position
    store: str

    def save(self, directory: Path) -> None:
        target = directory / CHECKPOINT_NAME
        data = orjson.dumps(
            {"segment": self.position.segment, "offset": self.position.offset, "store": self.store}
        )
        replace_durably(target.with_suffix(".tmp"), target, data)

    @staticmethod
    def load(directory: Path) -> Checkpoint | None:
        try:
            data = orjson.loads((directory / CHECKPOINT_NAME).read_bytes())
            return Checkpoint(Position(int(data["segment"]), int(data["offset"])), str(data["store"]))
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return None
