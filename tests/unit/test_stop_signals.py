"""A stop signal during a run reaches the command, whichever way DuckDB reports it, and a stop
DuckDB swallowed still ends the run at the next safe point (cli/stop_signals.py). Real signals,
sent to this process; a real DuckDB."""

from __future__ import annotations

import gzip
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from censorwatch.cli.ingest_ooni_cmd import _advancing
from censorwatch.cli.stop_signals import QUERY_INTERRUPTED, STOPS, StopSignals
from censorwatch.sources.ingest import ingest_files
from censorwatch.sources.ooni_files import RawRecord
from censorwatch.store import Store
from tests.integration.test_process_dask import measurement


def _swallowed_stop(stops: StopSignals) -> None:
    """A real SIGINT whose KeyboardInterrupt is lost on its way, as DuckDB loses some."""
    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)  # the handler runs before this returns
    except KeyboardInterrupt:
        pass
    assert stops.received == signal.SIGINT


def test_a_signal_is_recorded_and_raised_and_the_handler_restored() -> None:
    stops = StopSignals()
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt), stops.catching(signal.SIGINT):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)
    assert stops.received == signal.SIGINT
    assert signal.getsignal(signal.SIGINT) is before
    assert stops.surfaced_as(RuntimeError(QUERY_INTERRUPTED))
    assert stops.surfaced_as(duckdb.InvalidInputException("reading ... failed: KeyboardInterrupt: "))
    assert not stops.surfaced_as(RuntimeError("disk full"))
    with stops.catching(signal.SIGINT):  # a new run starts with no stop recorded
        assert stops.received is None
        stops.check()


def test_without_a_signal_nothing_is_taken_for_a_stop() -> None:
    stops = StopSignals()
    with stops.catching(signal.SIGINT):
        stops.check()
        assert not stops.surfaced_as(RuntimeError(QUERY_INTERRUPTED))
        assert stops.surfaced_as(KeyboardInterrupt())


def test_a_signal_during_a_duckdb_statement_is_recognised_or_recorded() -> None:
    """Pins how DuckDB reports Ctrl-C during a statement (about 1.7 s long here): as an exception
    the command recognises as the stop, or not at all, the stop then recorded for the next safe
    point. A DuckDB upgrade that reports it another way fails here."""
    stops = StopSignals()
    con = duckdb.connect()
    forms: set[str] = set()
    with stops.catching(signal.SIGINT):
        for _ in range(3):
            stops.received = None
            timer = threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT))
            timer.start()
            try:
                con.execute("SELECT count(*) FROM range(300000000) WHERE random() < 0").fetchall()
                forms.add("lost")
                timer.join()  # on a machine that ends the statement first, the signal lands here
                time.sleep(1)
            except BaseException as error:  # whatever DuckDB makes of it
                assert stops.surfaced_as(error), repr(error)
                forms.add(type(error).__name__)
            timer.join()
            assert stops.received == signal.SIGINT
    assert forms <= {"KeyboardInterrupt", "RuntimeError", "InvalidInputException", "lost"}, forms


def _records(count: int) -> Iterator[RawRecord]:
    for n in range(count):
        yield RawRecord(measurement(n, "telegram", "RU", "2024-03-01"), None, None, f"record {n}")


def test_an_api_run_stops_at_the_next_record_after_a_swallowed_stop() -> None:
    advanced: list[int] = []
    seen = 0
    with STOPS.catching(signal.SIGINT), pytest.raises(KeyboardInterrupt):
        for _ in _advancing(_records(10), STOPS.then_check(advanced.append)):  # as the command wires it
            seen += 1
            if seen == 3:
                _swallowed_stop(STOPS)
    assert seen == 3 and advanced == [1, 1, 1]  # the record fetched is counted, no other is fetched


def test_a_file_run_stops_once_a_batch_is_stored_and_its_files_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("censorwatch.sources.ingest.BATCH", 5)
    tree = tmp_path / "raw"
    for number in range(4):
        folder = tree / "20240301" / f"0{number}" / "RU" / "telegram"
        folder.mkdir(parents=True)
        lines = [json.dumps(measurement(10 * number + n, "telegram", "RU", "2024-03-01")) for n in range(5)]
        (folder / f"f{number}.jsonl.gz").write_bytes(gzip.compress("\n".join(lines).encode()))
    advanced: list[int] = []

    def advance(count: int) -> None:
        advanced.append(count)
        if len(advanced) == 2:
            _swallowed_stop(STOPS)

    db = tmp_path / "s.duckdb"
    with STOPS.catching(signal.SIGINT), Store(db) as store, pytest.raises(KeyboardInterrupt):
        ingest_files(store, [tree], on_progress=STOPS.then_check(advance))
    assert advanced == [5, 5]
    with Store(db) as store:
        assert store.count() == 10
        again = ingest_files(store, [tree])
    # The file whose rows the first batch held is recorded as read with the second: not read
    # again. The second batch's file is read again, its rows found stored.
    assert (again.files_read_before, again.duplicates, again.stored) == (1, 5, 10)


def test_a_stop_recorded_for_an_ended_run_stops_nothing_outside_catching() -> None:
    """A command called without main (a script, a test runner) runs outside `catching`: the stop
    an earlier run in the same process recorded is not taken for its own."""
    stops = StopSignals()
    with pytest.raises(KeyboardInterrupt), stops.catching(signal.SIGINT):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)
    assert stops.received == signal.SIGINT
    stops.check()
    stops.then_check(lambda count: None)(1)
