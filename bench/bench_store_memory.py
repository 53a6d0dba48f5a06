"""How many new measurements one run can store under a memory limit, by the order their uids
arrive in: DuckDB holds in memory the parts of the uid primary-key index that inserts touch.

    .venv/bin/python bench/bench_store_memory.py [--limit 250MB] [--rows 3000000] [--per-hour 60000]

Each order runs in a fresh interpreter against a fresh store with CENSORWATCH_DB_MEMORY=LIMIT,
inserting OONI-shaped uids (YYYYMMDDhhmmss.micro_CC_test_random) through Store.insert_selected
(`ingest parquet`'s path) in batches of 20,000 until ROWS or the store's StoreError:

  time order    the hour advances every PER_HOUR uids, random within the hour: OONI's uids begin
                with the time the collector received the measurement, and a raw-layout tree
                (raw/YYYYMMDD/HH/...) or the API's pages deliver them hour by hour
  random order  one hour for all, random after it: the baseline, every insert touching the
                whole index

It prints the rows stored, the seconds, the largest ART_INDEX that duckdb_memory() reported
between batches, and the process's peak RSS. No network; the stores live in a temporary
directory. docs/ingest.md ("Limits") has the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BATCH = 20_000
COLUMNS = ("measurement_uid", "test_name", "probe_cc", "probe_asn", "source")


def uid_sql(order: str, per_hour: int) -> str:
    hour = (
        f"strftime(TIMESTAMP '2024-03-01' + to_hours((i // {per_hour})::BIGINT), '%Y%m%d%H')"
        if order == "time"
        else "'2024030100'"
    )
    return f"{hour} || '0000.' || lpad((i % 1000000)::VARCHAR, 6, '0') || '_RU_webconnectivity_' || md5(i::VARCHAR)"


def run_order(spec: dict[str, Any]) -> dict[str, Any]:
    from censorwatch.store import Store
    from censorwatch.store.connection import StoreError

    select = f"SELECT {uid_sql(spec['order'], spec['per_hour'])}, 'web_connectivity', 'RU', 'AS1', 'ooni' " \
             "FROM range(?, ?) t(i)"
    stored, largest_index, failed = 0, 0.0, False
    started = time.perf_counter()
    with Store(Path(spec["db"])) as store:
        try:
            for start in range(0, spec["rows"], BATCH):
                stored += store.insert_selected(COLUMNS, select, [start, start + BATCH])
                index = store.con.execute(
                    "SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory() WHERE tag = 'ART_INDEX'"
                ).fetchone()
                largest_index = max(largest_index, float(index[0]) if index else 0.0)
        except StoreError:
            failed = True
    return {"order": spec["order"], "stored": stored, "failed": failed,
            "seconds": time.perf_counter() - started, "largest_index_mb": largest_index / 1e6,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", default="250MB", help="CENSORWATCH_DB_MEMORY for both runs")
    parser.add_argument("--rows", type=int, default=3_000_000)
    parser.add_argument("--per-hour", type=int, default=60_000)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.spec:
        print(json.dumps(run_order(json.loads(args.spec))))
        return
    print(f"up to {args.rows} new measurements in one run, CENSORWATCH_DB_MEMORY={args.limit}, "
          f"batches of {BATCH}, {args.per_hour} uids per hour in time order")
    print(f"{'uid order':<14} {'stored':>10} {'outcome':>16} {'seconds':>8} {'rows/s':>9} {'index MB':>9} "
          f"{'peak MiB':>9}")
    with tempfile.TemporaryDirectory(prefix="bench-store-memory-") as scratch:
        for order in ("time", "random"):
            spec = {"order": order, "rows": args.rows, "per_hour": args.per_hour,
                    "db": str(Path(scratch) / f"{order}.duckdb")}
            environment = {**os.environ, "CENSORWATCH_DB_MEMORY": args.limit}
            output = subprocess.run([sys.executable, __file__, "--spec", json.dumps(spec)], env=environment,
                                    check=True, capture_output=True, text=True).stdout
            result = json.loads(output.strip().splitlines()[-1])
            outcome = "out of memory" if result["failed"] else "all stored"
            print(f"{order + ' order':<14} {result['stored']:>10} {outcome:>16} {result['seconds']:8.1f} "
                  f"{result['stored'] / result['seconds']:9.0f} {result['largest_index_mb']:9.0f} "
                  f"{result['peak_rss_mib']:9.0f}")
    print("index MB = the largest ART_INDEX memory DuckDB reported between batches (the uid index's parts "
          "held in memory); peak MiB = the run's peak RSS. The random order is the baseline: the same rows, "
          "every insert touching the whole index.")


if __name__ == "__main__":
    main()
