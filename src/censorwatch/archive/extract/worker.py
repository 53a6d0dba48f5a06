"""The process IsolatedExtractor runs files in: `python -m censorwatch.archive.extract.worker`.

It limits its own address space (RLIMIT_AS, inherited by the tesseract it starts), says it is
ready, then answers extract requests one at a time until its input closes (wire.py). After an
out-of-memory it answers and exits: a C library that failed an allocation may be left in any
state, and a fresh worker costs a fraction of a second."""

from __future__ import annotations

import argparse
import importlib
import os
import resource
import sys
from collections.abc import Callable
from typing import Any

from ..model import Extracted, ExtractionFailed
from . import ocr as tesseract
from . import wire
from .errors import OutOfMemory
from .isolated import DEFAULT_TARGET

EXIT_OUT_OF_MEMORY = 3

Target = Callable[..., Extracted]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--memory", type=int, default=0, help="address space limit in bytes (0: none)")
    parser.add_argument("--target", default=DEFAULT_TARGET, help="module:function to run on each file")
    options = parser.parse_args(argv)
    requests, replies = _protocol_pipes()
    target = _load(options.target)
    # Asked once here, so that the first file's time is not the time of `tesseract --list-langs`.
    tesseract.languages()
    if options.memory > 0:
        resource.setrlimit(resource.RLIMIT_AS, (options.memory, options.memory))
    wire.write_blocking(replies, wire.ready())
    return _serve(requests, replies, target)


def _serve(requests: int, replies: int, target: Target) -> int:
    while True:
        try:
            message = wire.read_blocking(requests)
        except MemoryError:
            print("MemoryError: the request does not fit in the worker's memory", file=sys.stderr)
            return EXIT_OUT_OF_MEMORY
        if message is None:
            return 0
        data, name, ocr = wire.parse_request(*message)
        del message
        result = _run(target, data, name, ocr)
        del data
        try:
            wire.write_blocking(replies, wire.reply(result))
        except MemoryError:
            wire.write_blocking(replies, wire.reply(OutOfMemory("ran out of memory")))
            return EXIT_OUT_OF_MEMORY
        except BrokenPipeError:
            return 0
        if isinstance(result, OutOfMemory):
            return EXIT_OUT_OF_MEMORY


def _run(target: Target, data: bytes, name: str, ocr: bool) -> Extracted | ExtractionFailed:
    try:
        return target(data, name, ocr=ocr)
    except MemoryError:
        return OutOfMemory("ran out of memory")
    except ExtractionFailed as failed:
        return failed
    except Exception as error:
        # A target other than extract() (which never raises anything else) may; say what.
        return ExtractionFailed(f"the extractor failed: {type(error).__name__}: {error}")


def _protocol_pipes() -> tuple[int, int]:
    """The request and reply pipes, moved off descriptors 0 and 1 so that nothing a library
    prints to stdout can corrupt a frame (stdout then goes to stderr, stdin to /dev/null)."""
    requests, replies = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    return requests, replies


def _load(target: str) -> Target:
    module_name, _, attribute = target.partition(":")
    function: Any = getattr(importlib.import_module(module_name), attribute or "extract")
    if not callable(function):
        raise SystemExit(f"{target} is not callable")
    return function  # type: ignore[no-any-return]


if __name__ == "__main__":
    sys.exit(main())
