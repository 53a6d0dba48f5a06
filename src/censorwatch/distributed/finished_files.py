"""`censorwatch process` run again into the same output directory processes only the input files
that no earlier run finished: a month of OONI's raw files is hours of work, and a run that was
killed, or a tree that grew by a day, should not cost them again.

A task that finishes its file writes OUT/_finished/<file id>.json after publishing its parts (and
its kept input, --raw copy): the input's identity (size, modification time, last 8 bytes), the
option that shapes the parts (--raw), the identity of the code that analysed it (every source and
data file of the installed censorwatch: a new version, a new verdict rule or new fingerprints make
every file due again) and what the task counted. A later task takes its file as
finished only when all of these match and every file the mark names is still there. A task first
removes its file's mark, so a run killed while rewriting parts never leaves a mark behind that
vouches for them; a file that failed gets no mark and is tried again.

The mark holds no measurement data: counts, skip reasons with one example location each, and
paths inside OUT."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from censorwatch.code_identity import code_identity
from censorwatch.store.cans import InputState

FINISHED = "_finished"
MARK_FORMAT = 1


@dataclass
class Mark:
    """One finished input file: the state it was read in, --raw, the code, the counts."""

    input: str
    state: InputState
    raw: str
    code: str
    read: int
    written: int
    skipped: dict[str, int] = field(default_factory=dict)
    examples: dict[str, str] = field(default_factory=dict)
    parts: list[str] = field(default_factory=list)
    kept: str | None = None  # --raw copy: how OUT/inputs got the file
    kept_input: str | None = None  # and its path relative to OUT
    format: int = MARK_FORMAT


def mark_path(out_dir: Path, name: str) -> Path:
    return out_dir / FINISHED / f"{name}.json"


def clear_mark(out_dir: Path, name: str) -> None:
    mark_path(out_dir, name).unlink(missing_ok=True)


def write_mark(out_dir: Path, name: str, mark: Mark) -> None:
    """Under a temporary name first: a mark is whole or absent."""
    final = mark_path(out_dir, name)
    final.parent.mkdir(parents=True, exist_ok=True)
    temporary = final.with_name(f".{final.name}.tmp")
    temporary.write_text(json.dumps(asdict(mark), sort_keys=True), "utf-8")
    os.replace(temporary, final)


def finished_mark(out_dir: Path, name: str, state: InputState, raw: str) -> Mark | None:
    """The mark of an earlier run that finished this very input with this --raw and this code,
    whose files are all still there; None otherwise (the file is due)."""
    try:
        mark = _parse(json.loads(mark_path(out_dir, name).read_text("utf-8")))
    except (OSError, ValueError, TypeError, KeyError):
        return None  # no mark, or one that is damaged: process the file
    if (mark.format, mark.state, mark.raw, mark.code) != (MARK_FORMAT, state, raw, code_identity()):
        return None
    named = [*mark.parts, *([mark.kept_input] if mark.kept_input else [])]
    if not all((out_dir / relative).is_file() for relative in named):
        return None
    return mark


def _parse(document: Any) -> Mark:
    if not isinstance(document, dict):
        raise TypeError("a mark is a JSON object")
    state = InputState(**document.pop("state"))
    mark = Mark(state=state, **document)
    if not (isinstance(mark.parts, list) and all(isinstance(p, str) for p in mark.parts)):
        raise TypeError("parts are paths")
    if not (isinstance(mark.skipped, dict) and all(isinstance(n, int) for n in mark.skipped.values())):
        raise TypeError("skip counts are integers")
    return mark
