"""`censorwatch process --raw copy`: each gzip input file is kept inside the output directory
(OUT/inputs/), and the parts' rows point into that copy, named relative to OUT. The output
directory is then complete in itself, as with embedded frames, at the cost of linked parts:
no JSON is compressed again, and the copy is a hard link when OUT is on the input's file system
(free) or a kernel file copy otherwise (file_copy.py: a reflink on XFS and btrfs, free too; 0.4
CPU s per 510 MB on ext4, a sixteenth of reading the same files; docs/ingest.md).

A hard link shares the input's bytes: the task takes the file's identity before reading and
checks it after (distributed/file_task.py), and `ingest parquet` checks its own copy against the
identity the part recorded, so a file changed in place is noticed, never stored with wrong spans.

The copy is made under a temporary name first and renamed before the parts that name it are
published: a killed task leaves at most a temporary file, which the next run of the same file
replaces (the names derive from the input's path, like the parts')."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from censorwatch.file_copy import copy_whole
from censorwatch.store.cans import SUFFIX

INPUTS = "inputs"


@dataclass
class KeptInput:
    temporary: Path  # what the task reads
    final: Path
    relative: str  # what the rows name: the final path relative to the output directory
    hard_linked: bool

    def publish(self) -> None:
        os.replace(self.temporary, self.final)
        # rename() between two links of one file does nothing (POSIX): a re-run that linked the
        # same input again still has its temporary name.
        self.temporary.unlink(missing_ok=True)

    def discard(self) -> None:
        self.temporary.unlink(missing_ok=True)


def keep_input(source: Path, out_dir: Path, name: str) -> KeptInput:
    """Link or copy `source` to OUT/inputs/.NAME.partial.jsonl.gz; raises OSError when neither works."""
    directory = out_dir / INPUTS
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / f"{name}{SUFFIX}"
    # Readers choose the format by how a name ends (sources/ooni_files.py), so the suffix stays last.
    temporary = directory / f".{name}.partial{SUFFIX}"
    temporary.unlink(missing_ok=True)  # left by a killed run of the same file
    try:
        os.link(source, temporary)
        hard_linked = True
    except OSError:  # another file system, or links refused (protected_hardlinks, some mounts)
        try:
            copy_whole(source, temporary)
        except OSError:
            temporary.unlink(missing_ok=True)
            raise
        hard_linked = False
    return KeptInput(temporary, final, f"{INPUTS}/{final.name}", hard_linked)
