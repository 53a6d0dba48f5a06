"""What `censorwatch process` counts: per input file (FileResult, which travels back from the
worker) and for the whole run (ProcessStats, with the summary the CLI prints)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from censorwatch.distributed.task_groups import SMALL_FILE_BYTES

# How many small files with a task each make the summary suggest --files-per-task.
SMALL_FILES_HINT = 100

_PLURAL = {"hard link": "hard links", "copy": "copies"}


@dataclass
class FileResult:
    """What one task did with one input file (small: travels back from the worker)."""

    path: str
    read: int = 0
    written: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)
    parts: list[str] = field(default_factory=list)
    error: str | None = None
    kept: str | None = None  # --raw copy: "hard link" or "copy", how OUT/inputs got the file
    kept_input: str | None = None  # and the kept file's path relative to OUT
    reused: bool = False  # an earlier run finished this file (distributed/finished_files.py)

    def skip(self, reason: str, location: str) -> None:
        self.skipped[reason] += 1
        self.examples.setdefault(reason, location)


@dataclass
class ProcessStats:
    files: int = 0
    read: int = 0
    written: int = 0
    parts: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)
    failed_files: dict[str, str] = field(default_factory=dict)
    kept_inputs: Counter[str] = field(default_factory=Counter)  # by how they were kept
    seconds: float = 0.0
    # Files an earlier run into the same output directory finished, and the measurements their
    # parts hold: not processed again, not in the counts above.
    reused_files: int = 0
    reused_written: int = 0
    # Files under SMALL_FILE_BYTES that had a Dask task of their own (process_tree, one file per
    # task): the summary suggests --files-per-task when there are many.
    small_files_alone: int = 0

    def add(self, result: FileResult) -> None:
        if result.reused:
            self.reused_files += 1
            self.reused_written += result.written
            return
        self.files += 1
        self.read += result.read
        self.written += result.written
        self.parts += len(result.parts)
        self.skipped.update(result.skipped)
        for reason, location in result.examples.items():
            self.examples.setdefault(reason, location)
        if result.error:
            self.failed_files[result.path] = result.error
        if result.kept:
            self.kept_inputs[result.kept] += 1

    def summary_lines(self) -> list[str]:
        rate = self.read / self.seconds if self.seconds > 0 else 0.0
        lines = [
            f"files: {self.files}, records read: {self.read}, measurements written: {self.written}, "
            f"parts: {self.parts}, {self.seconds:.1f} s ({rate:.0f} records/s)",
        ]
        skipped = sum(self.skipped.values())
        if self.reused_files:
            lines.append(f"finished by an earlier run, not processed again: {self.reused_files} files "
                         f"({self.reused_written} measurements in their parts; --redo processes them again)")
        if self.kept_inputs:
            how = ", ".join(f"{count} as {_PLURAL[kind]}" for kind, count in sorted(self.kept_inputs.items()))
            lines.append(f"input files kept in the output directory: {sum(self.kept_inputs.values())} ({how})")
        lines.append(f"skipped records: {skipped}")
        for reason, count in self.skipped.most_common():
            lines.append(f"  {count} x {reason} (e.g. {self.examples.get(reason, '?')})")
        for path, error in sorted(self.failed_files.items()):
            lines.append(f"  file failed: {path}: {error}")
        if self.small_files_alone >= SMALL_FILES_HINT:
            lines.append(f"{self.small_files_alone} files under {SMALL_FILE_BYTES / 1e6:g} MB each had a Dask "
                         "task of its own, which costs the scheduler about as much as the file: --files-per-task 8 "
                         "lets them share tasks (a tree of small files ran about 1.7 times as fast on two cores)")
        return lines
