"""`censorwatch process` run again into the same output directory processes only the input files
that no earlier run finished: a month of OONI's raw files is hours of work, and a run that was
killed, or a tree that grew by a day, should not cost them again.

A task that finishes its file writes OUT/_finished/<file id>.json after publishing its parts (and
its kept input, --raw copy): the input's identity (size, modification time, last 8 bytes), the
options that shape the parts (--raw, --uid-scheme), the identity of the code that analysed it
(every source and data file of the installed censorwatch: a new version, a new verdict rule or new
fingerprints make every file due again) and what the task counted. A later task takes its file as
finished only when all of these match and every file the mark names is still there. A task first
removes its file's mark, so a run killed while rewriting parts never leaves a mark behind that
vouches for them; a file that failed gets no mark and is tried again.

The mark holds no measurement data: counts, skip reasons with one example location each, and
paths inside OUT."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import censorwatch
from censorwatch.store.cans import identity_of

FINISHED = "_finished"
MARK_FORMAT = 1


@dataclass(frozen=True)
class InputState:
    """What tells whether an input file is the one an earlier run read."""

    size: int
    mtime_ns: int
    tail: str


@dataclass
class Mark:
    """One finished input file: the state it was read in, the options, the code, the counts."""

    input: str
    state: InputState
    raw: str
    uid_scheme: str
    code: str
    read: int
    written: int
    skipped: dict[str, int] = field(default_factory=dict)
    examples: dict[str, str] = field(default_factory=dict)
    parts: list[str] = field(default_factory=list)
    kept: str | None = None  # --raw copy: how OUT/inputs got the file
    kept_input: str | None = None  # and its path relative to OUT
    format: int = MARK_FORMAT


def input_state(path: Path) -> InputState:
    """Raises OSError when the file cannot be read."""
    identity = identity_of(path)
    return InputState(identity.size, path.stat().st_mtime_ns, identity.tail)


@cache
def code_identity() -> str:
    """sha256 over every source and data file of the installed censorwatch package."""
    root = Path(censorwatch.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".py", ".json")):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


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


def finished_mark(out_dir: Path, name: str, state: InputState, raw: str, uid_scheme: str) -> Mark | None:
    """The mark of an earlier run that finished this very input with these options and this code,
    whose files are all still there; None otherwise (the file is due)."""
    try:
        mark = _parse(json.loads(mark_path(out_dir, name).read_text("utf-8")))
    except (OSError, ValueError, TypeError, KeyError):
        return None  # no mark, or one that is damaged: process the file
    if (mark.format, mark.state, mark.raw, mark.uid_scheme, mark.code) != (
        MARK_FORMAT, state, raw, uid_scheme, code_identity()
    ):
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
