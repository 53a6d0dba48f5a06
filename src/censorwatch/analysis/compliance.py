"""ISP compliance with Russia's register: stored verdicts joined with the register snapshot in
effect when each measurement was taken (the latest snapshot on or before its day).

Per network (probe_asn) and snapshot, each measured target (input URL) is *blocked* when most of
its ok/anomaly/confirmed verdicts in that period are anomaly or confirmed, else *reachable*
(failures say nothing either way and are left out). It is *registered* when an entry in that
snapshot orders its blocking: the URL itself, its domain as a whole (an entry with no URL, a
domain block type, or the site's root URL), or a wildcard covering the host. A host the register
names only for other URLs is counted apart: blocking it is blocking a whole site for one page.

Register entries naming only IP addresses are not joined: that would need the addresses each
probe resolved, which the verdict columns do not hold."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlsplit

import duckdb

from censorwatch.model.registry import DUMP
from censorwatch.store.registry import LookupError_, RegistryStore

BUCKETS = (
    "registered_blocked",
    "registered_reachable",
    "blocked_unregistered",
    "blocked_host_listed",
    "reachable_unregistered",
)
_DOMAIN_BLOCK_TYPES = {"domain", "domain-mask"}


@dataclass(frozen=True)
class Window:
    country: str
    since: date | None = None
    until: date | None = None


@dataclass
class NetworkCompliance:
    probe_asn: str
    snapshot: date
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(BUCKETS, 0))
    examples: dict[str, list[str]] = field(default_factory=lambda: {bucket: [] for bucket in BUCKETS})
    measurements: int = 0

    def add(self, bucket: str, target: str, measurements: int, keep: int) -> None:
        self.counts[bucket] += 1
        self.measurements += measurements
        if len(self.examples[bucket]) < keep:
            self.examples[bucket].append(target)

    def as_dict(self) -> dict[str, Any]:
        registered = self.counts["registered_blocked"] + self.counts["registered_reachable"]
        return {
            "probe_asn": self.probe_asn,
            "snapshot": self.snapshot.isoformat(),
            "targets": sum(self.counts.values()),
            "measurements": self.measurements,
            **self.counts,
            "registered_blocked_share": (
                round(self.counts["registered_blocked"] / registered, 4) if registered else None
            ),
            "examples": self.examples,
        }


def covers(entry: dict[str, Any], url: str) -> bool:
    """Whether a matched register entry orders blocking of this URL (not only of other pages)."""
    how = entry.get("match")
    if how in ("url", "wildcard"):
        return True
    if how != "domain":
        return False
    urls = entry.get("urls") or []
    if not urls or entry.get("block_type") in _DOMAIN_BLOCK_TYPES:
        return True
    return any(urlsplit(u).path in ("", "/") and not urlsplit(u).query for u in urls)


def _classify(registry: RegistryStore, url: str, snapshot: date,
              cache: dict[str, list[tuple[dict[str, Any], list[date]]]]) -> str:
    """'registered', 'host listed' or 'unregistered' for one URL in one snapshot."""
    if url not in cache:
        try:
            cache[url] = [(e, d) for e, d in registry.entries_for(url) if e.get("list_name") == DUMP]
        except LookupError_:
            cache[url] = []
    in_snapshot = [entry for entry, dates in cache[url] if snapshot in dates]
    if any(covers(entry, url) for entry in in_snapshot):
        return "registered"
    if in_snapshot:
        return "host listed"
    return "unregistered"


# The measurements compliance counts: the country's, with an input and a verdict that says
# something about reachability, in the window.
_MEASURED = """m AS (
    SELECT probe_asn, input, CAST(measurement_start_time AS DATE) AS day, verdict FROM measurements
    WHERE probe_cc = $cc AND input IS NOT NULL AND verdict IN ('ok', 'anomaly', 'confirmed')
      AND ($since IS NULL OR measurement_start_time >= $since)
      AND ($until IS NULL OR CAST(measurement_start_time AS DATE) <= $until))"""


def _window(window: Window) -> dict[str, Any]:
    return {"cc": window.country, "since": window.since, "until": window.until}


def _targets(con: duckdb.DuckDBPyConnection, window: Window) -> Iterator[tuple[str, date, str, int, int]]:
    """(probe_asn, snapshot in effect, input, blocked, ok) per target, streamed."""
    result = con.cursor().execute(
        f"""WITH {_MEASURED}, s AS (SELECT snapshot_date FROM registry_snapshots WHERE list_name = 'dump')
           SELECT m.probe_asn, s.snapshot_date, m.input,
                  count(*) FILTER (WHERE m.verdict IN ('anomaly', 'confirmed')) AS blocked,
                  count(*) FILTER (WHERE m.verdict = 'ok') AS ok
           FROM m ASOF JOIN s ON m.day >= s.snapshot_date
           GROUP BY ALL ORDER BY m.probe_asn, s.snapshot_date, m.input""",
        _window(window),
    )
    while rows := result.fetchmany(2000):
        yield from rows


def unmatched_measurements(con: duckdb.DuckDBPyConnection, window: Window) -> int:
    """Measurements taken before the first register snapshot: no order was known then."""
    rows = con.execute(
        f"""WITH {_MEASURED} SELECT count(*) FROM m
            WHERE day < coalesce((SELECT min(snapshot_date) FROM registry_snapshots WHERE list_name = 'dump'),
                                 DATE '9999-12-31')""",
        _window(window),
    ).fetchall()
    return int(rows[0][0])


def compliance(con: duckdb.DuckDBPyConnection, window: Window, examples: int = 5) -> list[NetworkCompliance]:
    registry = RegistryStore(con)
    if not registry.has_data() or not registry.snapshots(DUMP):
        raise LookupError_("no register snapshots stored: run `censorwatch ingest registry-ru` first")
    results: dict[tuple[str, date], NetworkCompliance] = {}
    cache: dict[str, list[tuple[dict[str, Any], list[date]]]] = {}
    for asn, snapshot, url, blocked, ok in _targets(con, window):
        row = results.setdefault((asn, snapshot), NetworkCompliance(asn, snapshot))
        status = _classify(registry, url, snapshot, cache)
        is_blocked = blocked > ok
        if status == "registered":
            bucket = "registered_blocked" if is_blocked else "registered_reachable"
        elif is_blocked:
            bucket = "blocked_host_listed" if status == "host listed" else "blocked_unregistered"
        else:
            bucket = "reachable_unregistered"
        row.add(bucket, url, blocked + ok, examples)
    return list(results.values())
