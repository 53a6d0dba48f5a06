"""Which snapshot each register file belongs to, and ingesting them group by group (one
transaction per snapshot), with a report of what was read and skipped."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb

from censorwatch.model.registry import DUMP, NXDOMAIN, RegistryEntry
from censorwatch.sources.registry_ru import (
    DumpCsv,
    NxdomainTxt,
    ReadStats,
    RegistryFormatError,
    date_in_name,
    is_nxdomain_file,
    is_xml_file,
)
from censorwatch.sources.registry_ru_xml import DumpXml
from censorwatch.store.registry_writer import SnapshotResult, SnapshotWriter

Reader = DumpCsv | DumpXml | NxdomainTxt


@dataclass
class PlannedFile:
    path: Path
    reader: Reader
    list_name: str
    snapshot_date: date
    updated: datetime | None


@dataclass
class IngestReport:
    snapshots: list[SnapshotResult] = field(default_factory=list)
    stats: ReadStats = field(default_factory=ReadStats)
    failed_files: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = []
        for result in self.snapshots:
            out.append(
                f"{result.list_name} snapshot {result.snapshot_date}: {result.read} entries read, "
                f"{result.members_added} new in this snapshot ({result.members_total} in all), "
                f"{result.new_contents} never seen before"
            )
        if self.stats.skipped_total:
            out.append(f"skipped {self.stats.skipped_total} broken lines:")
            out.extend(f"  {count} x {reason}" for reason, count in self.stats.skipped.most_common(10))
            out.extend(f"  e.g. {example}" for example in self.stats.examples[:5])
        else:
            out.append("no broken lines")
        out.extend(f"file not ingested: {failure}" for failure in self.failed_files)
        return out


def plan(path: Path, forced: date | None) -> PlannedFile:
    """Open a file, decide its reader and its snapshot date; ValueError when it has no date."""
    if is_nxdomain_file(path):
        when = forced or date_in_name(path)
        if when is None:
            raise ValueError(f"{path}: nxdomain.txt carries no date; give --snapshot-date")
        return PlannedFile(path, NxdomainTxt(path), NXDOMAIN, when, None)
    reader: DumpCsv | DumpXml = DumpXml(path) if is_xml_file(path) else DumpCsv(path)
    updated = reader.read_header()
    when = forced or (updated.date() if updated else None) or date_in_name(path)
    if when is None:
        raise ValueError(f"{path}: no `Updated:` line or updateTime; give --snapshot-date")
    return PlannedFile(path, reader, DUMP, when, updated)


def _counted(entries: Iterator[RegistryEntry], on_progress: Callable[[int], None] | None) -> Iterator[RegistryEntry]:
    if on_progress is None:
        yield from entries
        return
    pending = 0
    for entry in entries:
        yield entry
        pending += 1
        if pending == 1000:
            on_progress(pending)
            pending = 0
    on_progress(pending)


def ingest_files(con: duckdb.DuckDBPyConnection, files: list[Path], forced: date | None, replace: bool,
                 on_progress: Callable[[int], None] | None = None) -> IngestReport:
    report = IngestReport()
    groups: dict[tuple[str, date], list[PlannedFile]] = {}
    for path in files:
        try:
            planned = plan(path, forced)
        except (ValueError, RegistryFormatError, OSError) as error:
            report.failed_files.append(str(error))
            continue
        groups.setdefault((planned.list_name, planned.snapshot_date), []).append(planned)
    for (list_name, snapshot_date), planned_files in sorted(groups.items(), key=lambda item: item[0][1]):
        updated = max((p.updated for p in planned_files if p.updated), default=None)
        writer = SnapshotWriter(con, list_name, snapshot_date, updated, replace)
        group_stats = ReadStats()
        names = []
        try:
            for planned in planned_files:
                try:
                    writer.add(_counted(planned.reader.entries(), on_progress))
                except (RegistryFormatError, OSError) as error:
                    report.failed_files.append(str(error))
                    continue
                finally:
                    group_stats.merge(planned.reader.stats)
                if planned.reader.stats.entries == 0:
                    report.failed_files.append(f"{planned.path}: no register entry could be read from it")
                else:
                    names.append(planned.path.name)
        except BaseException:
            writer.rollback()
            raise
        report.stats.merge(group_stats)
        if not names:
            writer.rollback()
            continue
        report.snapshots.append(writer.commit(names, group_stats.skipped_total))
    return report
