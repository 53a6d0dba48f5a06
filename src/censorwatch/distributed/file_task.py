"""The task of `censorwatch process`: one input file streamed into its Parquet parts. It reads
the file (sources/ooni_files.read_records), gives every measurement our verdict
(analysis.record.analysed_record, the same code as `ingest ooni`), writes one part per partition
(distributed/parts.py) and leaves a mark once done (distributed/finished_files.py). It runs on a
Dask worker or in this process (distributed/process.py); bad records are counted, never fatal."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from censorwatch.analysis.record import analysed_record
from censorwatch.code_identity import code_identity
from censorwatch.distributed.finished_files import Mark, clear_mark, finished_mark, write_mark
from censorwatch.distributed.kept_inputs import KeptInput, keep_input
from censorwatch.distributed.parts import Link, PartWriter, file_id
from censorwatch.distributed.results import FileResult
from censorwatch.model.measurement import MalformedMeasurement
from censorwatch.store.cans import identity_of, input_state, is_can_source


def process_file(
    path: str | Path,
    out_dir: str | Path,
    source: str = "ooni",
    raw: str = "copy",
    redo: bool = False,
) -> FileResult:
    """The task: stream one file into its Parquet parts. Never raises for bad content; an
    unreadable file is reported in FileResult.error with whatever was counted. A file an earlier
    run into out_dir finished is not processed again (FileResult.reused;
    distributed/finished_files.py) unless `redo`."""
    file_path, out = Path(path), Path(out_dir)
    result = FileResult(str(file_path))
    name = file_id(file_path)
    try:
        state = input_state(file_path)
    except OSError as error:
        result.error = f"{type(error).__name__}: {error}"
        return result
    if not redo:
        earlier = finished_mark(out, name, state, raw)
        if earlier is not None:
            return _reused(result, earlier)
    try:
        clear_mark(out, name)  # before any part is rewritten
    except OSError as error:
        result.error = f"cannot remove its mark of an earlier run: {type(error).__name__}: {error}"
        return result
    _process(file_path, out, result, source, raw)
    if result.error is None:
        mark = Mark(
            str(file_path.resolve()), state, raw, code_identity(), result.read, result.written,
            dict(result.skipped), result.examples, result.parts, result.kept, result.kept_input,
        )
        # Without its mark (say the disk filled up) the file is only processed again next time.
        with contextlib.suppress(OSError):
            write_mark(out, name, mark)
    return result


def process_files(paths: list[str], out_dir: str | Path, **options: Any) -> list[FileResult]:
    """A task of several files (process_tree's `files_per_task`): each processed as process_file
    does, with its own parts and mark, so a task that stops leaves every file it finished done."""
    return [process_file(path, out_dir, **options) for path in paths]


def _reused(result: FileResult, mark: Mark) -> FileResult:
    result.reused, result.read, result.written, result.parts = True, mark.read, mark.written, mark.parts
    result.skipped.update(mark.skipped)
    result.examples.update(mark.examples)
    result.kept, result.kept_input = mark.kept, mark.kept_input
    return result


def _process(
    file_path: Path,
    out: Path,
    result: FileResult,
    source: str,
    raw: str,
) -> None:
    from censorwatch.sources.ooni_files import read_records  # H4's streaming reader

    kept: KeptInput | None = None
    try:
        read_from, link = file_path, None
        if raw != "embed" and is_can_source(file_path):
            if raw == "copy":
                kept = keep_input(file_path, out, file_id(file_path))
                read_from = kept.temporary
            # Taken before the file is read: a file replaced while it is read is not linked to.
            name = kept.relative if kept is not None else str(file_path.resolve())
            link = Link(name, identity_of(read_from))
        with PartWriter(out, file_path, link) as writer:
            linked_as = link.name if link is not None else None
            for record in read_records(read_from, shown_as=file_path):
                result.read += 1
                if record.measurement is None:
                    result.skip(_reason(record.error), record.location)
                    continue
                try:
                    stored = analysed_record(record.measurement, source, record.raw, linked_as, record.offset)
                except MalformedMeasurement as error:
                    result.skip(f"not a measurement: {error}", record.location)
                    continue
                writer.add(stored)
                result.written += 1
            if link is not None and identity_of(read_from) != link.identity:
                raise _Changed(f"{file_path} changed while it was read; no parts written for it")
            if kept is not None and result.written:
                kept.publish()  # before the parts that name it
                result.kept = "hard link" if kept.hard_linked else "copy"
                result.kept_input = kept.relative
            result.parts = writer.close()
    except OSError as error:
        result.error = f"{type(error).__name__}: {error}"
    except _Changed as error:
        result.error, result.written = str(error), 0
    finally:
        if kept is not None and result.kept is None:
            kept.discard()


class _Changed(Exception):
    pass


def _reason(error: str | None) -> str:
    # Reasons are counted: keep the kind, not the per-record detail (offsets, values).
    return (error or "unreadable record").split(":")[0].strip()[:80]
