"""Failures of the extractor rather than of the file: kinds of ExtractionFailed that callers
may treat apart (retry a timeout with a longer limit, report a crash as a bug)."""

from __future__ import annotations

from ..model import ExtractionFailed


class OutOfMemory(ExtractionFailed):
    """The file needed more memory than the extractor may use."""


class TimedOut(ExtractionFailed):
    """The file took longer than the extractor may take."""


class Crashed(ExtractionFailed):
    """The extracting process died (a signal, most likely a bug of a C library on hostile input)."""
