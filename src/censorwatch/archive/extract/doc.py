"""Word 97-2003 (.doc) to text with Debian's antiword, run as a subprocess with a timeout and a
cap on what it may print; title, author and creation time from the summary properties.

antiword writes in the character set of the locale it runs in: under a C locale (services,
cron) every Cyrillic or Chinese letter comes out as "?", so it is always run with -m UTF-8.txt.
-w 0 keeps each paragraph on one line instead of wrapping it at 76 columns. antiword is a C
program that crashes on some malformed files (and, on files without a style sheet, only now
and then): a crash is retried once, then the file fails with the signal as its reason. Inside
the isolated extractor antiword inherits the worker's memory limit and dies with the worker."""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import subprocess
import tempfile
import time
from typing import IO

from ..model import Extracted, ExtractionFailed, TextPart
from .limits import ANTIWORD_TIMEOUT, MAX_ANTIWORD_OUTPUT
from .normalise import TextBudget, tidy
from .ole import summary_of

_STDERR_TAIL = 4096
# What antiword says of a password-protected document (fEncrypted in its file information block).
_ENCRYPTED = "Encrypted documents are not supported"


def extract_doc(data: bytes) -> Extracted:
    title, created, metadata = summary_of(data)
    output, cut = _antiword(data)
    budget = TextBudget()
    text = budget.take(tidy(output.decode("utf-8", "replace")))
    if cut:
        metadata["truncated"] = f"antiword's output cut at {MAX_ANTIWORD_OUTPUT >> 20} MiB"
    return Extracted(kind="doc", title=title, date=created, parts=(TextPart(1, text),) if text else (),
                     metadata=budget.note(metadata))


def _antiword(data: bytes) -> tuple[bytes, bool]:
    program = shutil.which("antiword")
    if program is None:
        raise ExtractionFailed("antiword not installed: Word 97-2003 files cannot be read (apt-get install antiword)")
    with tempfile.TemporaryFile() as source:
        source.write(data)
        for attempt in (1, 2):
            source.seek(0)
            returncode, output, cut, errors = _run([program, "-m", "UTF-8.txt", "-w", "0", "-"], source)
            if returncode == 0 or cut:
                return output, cut
            if returncode > 0 or attempt == 2:
                break
    if returncode < 0:
        raise ExtractionFailed(f"antiword crashed on this file (signal {-returncode})")
    lines = [line.strip() for line in errors.decode("utf-8", "replace").splitlines() if line.strip()]
    if _ENCRYPTED in lines:
        raise ExtractionFailed("encrypted: a password-protected Word document")
    said = lines[-1] if lines else f"exit status {returncode}"
    raise ExtractionFailed(f"antiword could not read this Word file: {said}")


def _run(command: list[str], source: IO[bytes]) -> tuple[int, bytes, bool, bytes]:
    """(exit status, standard output up to MAX_ANTIWORD_OUTPUT, whether it was cut there, the
    end of standard error); ExtractionFailed after ANTIWORD_TIMEOUT seconds."""
    deadline = time.monotonic() + ANTIWORD_TIMEOUT
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(command, stdin=source, stdout=subprocess.PIPE, stderr=errors)
        try:
            output, cut = _read_bounded(process, deadline)
            if cut:
                return 0, output, True, b""
            try:
                returncode = process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                raise ExtractionFailed(f"antiword took longer than {ANTIWORD_TIMEOUT:g} s") from None
        finally:
            if process.returncode is None:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()
        errors.seek(max(0, errors.seek(0, os.SEEK_END) - _STDERR_TAIL))
        return returncode, output, False, errors.read()


def _read_bounded(process: subprocess.Popen[bytes], deadline: float) -> tuple[bytes, bool]:
    """What the process prints until it closes its output, at most MAX_ANTIWORD_OUTPUT bytes."""
    assert process.stdout is not None
    descriptor = process.stdout.fileno()
    chunks: list[bytes] = []
    size = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ExtractionFailed(f"antiword took longer than {ANTIWORD_TIMEOUT:g} s")
        readable, _, _ = select.select([descriptor], [], [], remaining)
        if not readable:
            continue
        chunk = os.read(descriptor, 1 << 16)
        if not chunk:
            return b"".join(chunks), False
        if size + len(chunk) > MAX_ANTIWORD_OUTPUT:
            chunks.append(chunk[: MAX_ANTIWORD_OUTPUT - size])
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            return b"".join(chunks), True
        chunks.append(chunk)
        size += len(chunk)
