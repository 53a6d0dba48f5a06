"""What `events detect` costs over a store of N measurements, and what an incremental run after
100,000 new ones costs against a full rerun measured in the same run.

    .venv/bin/python bench/bench_events.py [--measurements 1000000] [--new 100000] [--db DIR]

Builds a store of synthetic countries (analysis/events/synthetic.py: 96 series each, 1-24
measurements a day, sporadic anomalies, failures, gaps, flaky networks, injected events),
holding back the newest --new measurements. Then, each in a child process of its own so that
its peak RSS is its own (wait4's ru_maxrss):

  full         the first run over the store
  incremental  after the held-back measurements are added: reads only those
  rerun        `--full` over the same final store: the baseline of the incremental run

and checks that the incremental run's events equal the rerun's. Use --measurements 10000000
for the large case (building that store takes a few minutes).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from censorwatch.analysis.events.synthetic import DAY_US, Scenario, generate
from censorwatch.analysis.events.synthetic_store import insert_rows
from censorwatch.store import Store

ROWS_PER_COUNTRY = 42_300  # what one default country holds on average (measured over 227)


def build(db: Path, measurements: int, new: int) -> tuple[int, int]:
    """Countries until `measurements` rows; the newest `new` go to table bench_later."""
    scenario = Scenario()
    countries = max(1, round(measurements / ROWS_PER_COUNTRY))
    total = later = 0
    with Store(db) as store:
        store.con.execute("CREATE TABLE IF NOT EXISTS bench_later AS SELECT * FROM measurements LIMIT 0")
        for index in range(countries):
            code = f"{chr(65 + index // 26 % 26)}{chr(65 + index % 26)}"
            country = generate(100_000 + index, scenario, probe_cc=code)
            rows = [(key, row) for key, series in country.series.items() for row in series]
            share = new / measurements
            cutoff = country.end - int(share * scenario.days * DAY_US)
            insert_rows(store.con, [item for item in rows if item[1][0] < cutoff])
            held = [item for item in rows if item[1][0] >= cutoff]
            insert_rows(store.con, held, table="bench_later")
            total += len(rows)
            later += len(held)
            print(f"\rbuilt {total:,} measurements ({index + 1}/{countries} countries)", end="", file=sys.stderr)
    print(file=sys.stderr)
    return total, later


def child(db: Path, *flags: str) -> tuple[float, float, float, str]:
    """Runs one detection in a child process: wall seconds (process start and imports included),
    seconds inside detect, peak RSS (MiB), its summary line."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, __file__, "--phase", str(db), *flags], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    if status:
        raise SystemExit(f"child failed: {status}")
    line, seconds = output.strip().rsplit(" ", 1)
    return time.perf_counter() - started, float(seconds), usage.ru_maxrss / 1024, line


def phase(db: Path, full: bool) -> None:
    from censorwatch.analysis.events.run import detect

    with Store(db) as store:
        started = time.perf_counter()
        summary = detect(store.con, full=full)
        figures = summary.as_dict()
        print(f"{figures['mode']}: {figures['rows_read']:,} rows read, {figures['network_events']:,} network "
              f"and {figures['country_events']:,} country events {time.perf_counter() - started:.3f}")


def events_of(db: Path) -> list[tuple[object, ...]]:
    with Store(db, read_only=True) as store:
        return store.con.execute("SELECT * EXCLUDE (detected) FROM events ORDER BY ALL").fetchall()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--measurements", type=int, default=1_000_000)
    parser.add_argument("--new", type=int, default=100_000)
    parser.add_argument("--db", type=Path, help="directory for the store (default: a temporary one)")
    parser.add_argument("--phase", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--full", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase is not None:
        phase(args.phase, args.full)
        return
    with tempfile.TemporaryDirectory(dir=args.db) as directory:
        db = Path(directory) / "events.duckdb"
        started = time.perf_counter()
        total, later = build(db, args.measurements, args.new)
        print(f"store: {total:,} measurements, {later:,} held back ({time.perf_counter() - started:.0f} s to build)")
        first = child(db)
        with Store(db) as store:
            store.con.execute("INSERT INTO measurements SELECT * FROM bench_later")
        incremental = child(db)
        after_incremental = events_of(db)
        rerun = child(db, "--full")
        same = events_of(db) == after_incremental
        print(f"{'run':<12} {'detect s':>9} {'wall s':>8} {'peak MiB':>9}  summary")
        for name, (wall, inner, peak, line) in (("full", first), ("incremental", incremental), ("rerun", rerun)):
            print(f"{name:<12} {inner:>9.2f} {wall:>8.2f} {peak:>9.0f}  {line}")
        print(f"incremental / rerun: {incremental[1] / rerun[1]:.3f} of the detect time; "
              f"incremental events equal the rerun's: {same}")
        print(f"full run: {(total - later) / first[1]:,.0f} measurements/s in detect")


if __name__ == "__main__":
    main()
