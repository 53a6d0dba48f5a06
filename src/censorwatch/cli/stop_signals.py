"""Ctrl-C (and, where a command asks, `kill`) while a command writes to the store.

Python raises KeyboardInterrupt wherever the main thread is when SIGINT arrives. While a DuckDB
statement runs, that is inside DuckDB's Python client, which runs the handler itself and reports
the stop its own way: as RuntimeError("Query interrupted"), as a duckdb.Error naming
KeyboardInterrupt (while it reads a registered Arrow table), or not at all, and the run goes on.
Measured with a real SIGINT at random moments of 300 Arrow-table inserts: 186 KeyboardInterrupt,
100 "Query interrupted", 11 duckdb errors, 3 lost. So the handler records the stop before it
raises: `surfaced_as` tells a command whether an exception is the stop, and `check` (called
between records) ends a run whose stop DuckDB swallowed."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import duckdb

QUERY_INTERRUPTED = "Query interrupted"  # DuckDB's message (duckdb python, CompletePendingQuery)
# The exception types a stop can reach a command as; surfaced_as tells which of them is one.
STOP_FORMS = (KeyboardInterrupt, RuntimeError, duckdb.Error)


class StopSignals:
    def __init__(self) -> None:
        self.received: int | None = None  # the signal that asked this run to stop
        self._depth = 0

    def _handle(self, number: int, frame: FrameType | None) -> None:
        self.received = number
        raise KeyboardInterrupt

    @contextmanager
    def catching(self, *numbers: signal.Signals) -> Iterator[StopSignals]:
        """While inside, `numbers` stop the run as Ctrl-C does, and are recorded. Entered in a
        thread other than the main one (signal handlers can only be set from there), it only
        records nothing. The outermost entry starts with no stop recorded."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        if self._depth == 0:
            self.received = None
        previous: dict[int, Any] = {number: signal.signal(number, self._handle) for number in numbers}
        self._depth += 1
        try:
            yield self
        finally:
            self._depth -= 1
            for number, handler in previous.items():
                signal.signal(number, handler)

    def check(self) -> None:
        """Raises KeyboardInterrupt when a stop was received while catching: a safe point for a
        run to end at. Outside `catching` (a command called as a function, not by main) there is
        no stop to honour, only one recorded for a run that has ended."""
        if self.received is not None and self._depth > 0:
            raise KeyboardInterrupt

    def then_check(self, advance: Callable[[int], None]) -> Callable[[int], None]:
        """`advance` (a progress callback), then `check`: a command's progress is reported between
        records or batches, where a run may end, so that is where a stop DuckDB swallowed ends it."""

        def advanced(count: int) -> None:
            advance(count)
            self.check()

        return advanced

    def surfaced_as(self, error: BaseException) -> bool:
        """Whether `error` is how a stop signal reached the command."""
        if isinstance(error, KeyboardInterrupt):
            return True
        if self.received is None:
            return False
        if isinstance(error, RuntimeError) and str(error) == QUERY_INTERRUPTED:
            return True
        return isinstance(error, duckdb.Error) and "KeyboardInterrupt" in str(error)


# One per process: signal handlers are.
STOPS = StopSignals()
