"""`censorwatch reanalyse`: give the stored measurements the verdicts of the installed code.

Ingesting a measurement again never rewrites its row (it is already stored), and since files read
to the end are not even read again (store/read_files.py), a new verdict rule or new fingerprints
would otherwise reach only measurements ingested after the upgrade. Here every stored
measurement is read back from the store, byte for byte as received, judged again, and only the
verdict columns of rows whose verdict changed are rewritten, a batch at a time.

Streaming: rows with zstd frames are read in storage order; rows in cans are read ordered by can
and offset without their bytes in the sorted query (sorting frames held them all in DuckDB's
memory, store/export.py), so each can is inflated once. A measurement that cannot be read back
or parsed is counted with one example and left as it is."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from censorwatch.analysis.dispatch import analyse
from censorwatch.model.verdict import Verdict
from censorwatch.sources.ooni_files import parse_line
from censorwatch.store import Store
from censorwatch.store.export import row_filter
from censorwatch.store.measurement_rows import VERDICT_COLUMNS
from censorwatch.store.raw_access import RawFetcher, RawUnavailable

BATCH = 2000


@dataclass
class Reanalysis:
    read: int = 0
    changed: int = 0
    unreadable: int = 0  # bytes that cannot be read back, or are not JSON any more
    example: str | None = None
    why: str | None = None
    # (verdict before, verdict after) of the rows that changed, blocking type included
    transitions: Counter[tuple[str, str]] = field(default_factory=Counter)

    def failed(self, uid: str, why: str) -> None:
        self.unreadable += 1
        if self.example is None:
            self.example, self.why = uid, why

    def summary_lines(self) -> list[str]:
        lines = [f"re-analysed {self.read} measurements: verdict changed for {self.changed}, "
                 f"unchanged {self.read - self.changed - self.unreadable}, unreadable {self.unreadable}"]
        for (before, after), count in self.transitions.most_common():
            lines.append(f"  {count} x {before} -> {after}")
        return lines


def reanalyse(
    store: Store,
    probe_cc: str | None = None,
    test_name: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> Reanalysis:
    result = Reanalysis()
    pending: list[tuple[str, Verdict]] = []
    try:
        with store.raw_fetcher() as fetcher:
            for row in _rows(store, probe_cc, test_name, since, until):
                result.read += 1
                verdict = _judged(fetcher, row, result)
                if verdict is not None and _columns(verdict) != tuple(row[name] for name in VERDICT_COLUMNS):
                    pending.append((row["measurement_uid"], verdict))
                    result.changed += 1
                    before, after = _label(row["verdict"], row["blocking"]), _label(verdict.verdict, verdict.blocking)
                    result.transitions[(before, after)] += 1
                if len(pending) >= BATCH:
                    store.update_verdicts(pending)
                    pending = []
                if on_progress is not None:
                    on_progress(1)
    except BaseException:
        # Stopped (Ctrl-C) or failed: the verdicts judged so far are written first, as ingest
        # stores what it read; if the store itself failed, its first error is the one to see.
        with contextlib.suppress(Exception):
            store.update_verdicts(pending)
        raise
    store.update_verdicts(pending)
    return result


def _rows(
    store: Store, probe_cc: str | None, test_name: str | None, since: datetime | None, until: datetime | None
) -> Iterator[dict[str, Any]]:
    wanted = ", ".join(("measurement_uid", *VERDICT_COLUMNS))
    where, params = row_filter(probe_cc, test_name, since, until, ("raw_can IS NULL",))
    yield from store.iter_rows(f"SELECT {wanted}, raw_zstd FROM measurements {where}", params)
    where, params = row_filter(probe_cc, test_name, since, until, ("raw_can IS NOT NULL",))
    yield from store.iter_rows(
        f"SELECT {wanted}, raw_can, raw_offset, raw_length FROM measurements {where} ORDER BY raw_can, raw_offset",
        params,
    )


def _judged(fetcher: RawFetcher, row: dict[str, Any], result: Reanalysis) -> Verdict | None:
    """The verdict of the row's measurement as read back, or None (counted) when it cannot be."""
    uid = row["measurement_uid"]
    try:
        record = parse_line(fetcher.raw(row), uid)  # the readers' own rules for what a measurement is
    except RawUnavailable as error:
        result.failed(uid, str(error))
        return None
    if record.measurement is None:
        result.failed(uid, record.error or "not a measurement")
        return None
    return analyse(record.measurement)


def _columns(verdict: Verdict) -> tuple[Any, ...]:
    return tuple(getattr(verdict, name) for name in VERDICT_COLUMNS)


def _label(verdict: str | None, blocking: str | None) -> str:
    name = verdict or "not analysed"
    return f"{name} ({blocking})" if blocking else name
