"""Web explorer benchmark: API latency under concurrent load on a store of 10 million measurements.

Builds the store by analysing each real OONI measurement of ../shared/data once (plus one
synthetic Web Connectivity measurement per blocking situation, so every verdict occurs) and
replicating those rows with DuckDB SQL: fresh uids, times spread over a year in time order (as
an archive is ingested), 60 countries with 5 networks each, 2,000 target domains. Then it starts
`censorwatch serve` as its own process on loopback and sends each endpoint `--requests` requests
from `--concurrency` concurrent clients (bounded by `--seconds` too), reporting p50/p99 next to
/api/v1/health under the same load as the baseline.

    .venv/bin/python bench/bench_web.py [--rows 10000000] [--db PATH]

Without --db the store is built in a temporary directory and removed at the end; with --db it
is kept (and reused when it exists).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import httpx
import pyarrow as pa

from censorwatch.store.database import Store
from censorwatch.store.schema import COLUMN_NAMES
from censorwatch.web import demo
from censorwatch.web.aggregates import refresh_aggregates

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ooni" / "measurements"
MAX_RAW = 32 * 1024  # two real measurements are 350-570 KB; replicating them millions of times measures disk, not us
COUNTRIES = (
    "IR", "RU", "CN", "TR", "IT", "DE", "US", "BR", "IN", "EG", "MM", "PK", "VN", "TH", "ID",
    "MY", "KZ", "BY", "UA", "GB", "FR", "ES", "NL", "SE", "NO", "FI", "PL", "CZ", "AT", "CH",
    "MX", "AR", "CL", "CO", "PE", "VE", "CU", "NG", "KE", "ET", "ZA", "SA", "AE", "QA", "IQ",
    "SY", "JO", "LB", "IL", "AF", "BD", "LK", "NP", "JP", "KR", "TW", "PH", "AU", "NZ", "CA",
)
DAYS = 365


def templates() -> list[dict[str, object]]:
    rows = [m.row() for m in demo.real(SHARED) if len(m.raw) <= MAX_RAW]
    for situation in demo.EXPECTED:
        measurement = demo.web_measurement("https://www.example.org/", "IR", "AS58224", "Sample", demo.END, situation)
        rows.append(demo.record(measurement, situation).row())
    return rows


def build(db: Path, rows: int) -> float:
    started = time.perf_counter()
    found = templates()
    print(f"templates: {len(found)} analysed measurements ({sum(1 for r in found if r['source'] == 'ooni')} real)")
    with Store(db) as store:
        con = store.con
        table = pa.Table.from_pylist([{**row, "k": index} for index, row in enumerate(found)])
        con.register("tpl_arrow", table)
        con.execute("CREATE TEMP TABLE tpl AS SELECT * FROM tpl_arrow")
        con.execute("CREATE TEMP TABLE cc AS SELECT unnest(?) AS code, generate_subscripts(?, 1) - 1 AS j",
                    [COUNTRIES, COUNTRIES])
        n_tpl, n_cc = len(found), len(COUNTRIES)
        chunk = 1_000_000
        for first in range(0, rows, chunk):
            last = min(rows, first + chunk)
            # Row i is at time start + i * (one year / rows): the table is in time order.
            columns = {
                "measurement_uid": "strftime(t, '%Y%m%d%H%M%S') || '_' || cc.code || '_' || "
                                   "replace(tpl.test_name, '_', '') || '_' || printf('%016x', i)",
                "report_id": "tpl.report_id",
                "input": "CASE WHEN tpl.domain IS NULL THEN tpl.input ELSE 'https://site' || (hash(i * 17) % 2000) "
                         "|| '.example/' END",
                "domain": "CASE WHEN tpl.domain IS NULL THEN NULL ELSE 'site' || (hash(i * 17) % 2000) || '.example' "
                          "END",
                "probe_cc": "cc.code",
                "probe_asn": "'AS' || (64500 + cc.j * 5 + hash(i * 13) % 5)",
                "probe_network_name": "'Network ' || cc.code || ' ' || (hash(i * 13) % 5)",
                "measurement_start_time": "t",
            }
            # A template row leaves out the raw columns it does not use (a frame or a can span).
            select = ", ".join(
                f"{columns.get(name, 'tpl.' + name if name in table.column_names else 'NULL')} AS {name}"
                for name in COLUMN_NAMES
            )
            con.execute(
                f"INSERT INTO measurements SELECT {select} FROM ("
                f"  SELECT i, TIMESTAMP '2024-06-01' + to_microseconds(CAST(i * (? / ?) AS BIGINT)) AS t "
                f"  FROM range(?, ?) r(i)) s "
                f"JOIN tpl ON tpl.k = hash(s.i * 31) % {n_tpl} JOIN cc ON cc.j = hash(s.i * 7) % {n_cc} ORDER BY i",
                [DAYS * 86400 * 1e6, rows, first, last],
            )
            print(f"  {last:,} rows ({time.perf_counter() - started:.0f} s)", flush=True)
        seconds = refresh_aggregates(con)
        print(f"aggregates refreshed in {seconds:.1f} s")
    return time.perf_counter() - started


def connection_cost(db: Path, uid: str, repeat: int = 30) -> None:
    """Why the app keeps its read-only connection open between requests (store_access.py)."""
    query = "SELECT raw_zstd, raw_can, raw_offset, raw_length FROM measurements WHERE measurement_uid = ?"
    opened = []
    for _ in range(repeat):
        started = time.perf_counter()
        with duckdb.connect(str(db), read_only=True) as con:
            con.execute(query, [uid]).fetchall()
        opened.append(time.perf_counter() - started)
    with duckdb.connect(str(db), read_only=True) as con:
        con.execute(query, [uid]).fetchall()
        kept = []
        for _ in range(repeat):
            started = time.perf_counter()
            con.cursor().execute(query, [uid]).fetchall()
            kept.append(time.perf_counter() - started)
    print(f"detail query with a fresh connection: p50 {percentile(opened, 0.5) * 1000:.1f} ms; "
          f"on a kept connection's cursor: p50 {percentile(kept, 0.5) * 1000:.1f} ms")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def endpoints(rng: random.Random) -> dict[str, Callable[[], str]]:
    def cc() -> str:
        return rng.choice(COUNTRIES[:20])

    def domain() -> str:
        return f"site{rng.randrange(2000)}.example"

    return {
        "health (baseline)": lambda: "/api/v1/health",
        "search newest": lambda: "/api/v1/measurements?limit=50",
        "search country+verdict": lambda: f"/api/v1/measurements?probe_cc={cc()}&verdict=anomaly,confirmed",
        "search domain+period": lambda: f"/api/v1/measurements?domain={domain()}&since=2025-01-01&until=2025-03-31",
        "search page 5": lambda: f"/api/v1/measurements?probe_cc={cc()}&offset=200&limit=50",
        "measurement detail": lambda: f"/api/v1/measurements/{rng.choice(UIDS)}",
        "aggregate by day (country)": lambda: f"/api/v1/aggregates?axis=day&probe_cc={cc()}",
        "aggregate by country (period)": lambda: "/api/v1/aggregates?axis=country&since=2025-04-01&until=2025-04-30",
        "aggregate by network": lambda: f"/api/v1/aggregates?axis=network&probe_cc={cc()}",
        "aggregate by target": lambda: f"/api/v1/aggregates?axis=target&probe_cc={cc()}&order=blocked&limit=25",
        "target timeline": lambda: f"/api/v1/targets/timeline?target={domain()}",
    }


UIDS: list[str] = []


async def load(base: str, make: Callable[[], str], requests: int, concurrency: int, seconds: float) -> list[float]:
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        remaining = iter(range(requests))

        async def worker() -> None:
            for _ in remaining:
                if time.monotonic() > deadline:
                    return
                path = make()
                started = time.perf_counter()
                response = await client.get(path)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise RuntimeError(f"{path}: HTTP {response.status_code} {response.text[:200]}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--db", type=Path, help="reuse (or keep) this store instead of a temporary one")
    parser.add_argument("--requests", type=int, default=400, help="requests per endpoint")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0, help="time limit per endpoint")
    args = parser.parse_args()
    if not SHARED.is_dir():
        print(f"skipped: {SHARED} is absent (the benchmark replicates real measurements)")
        return 0
    workdir = None if args.db else Path(tempfile.mkdtemp(prefix="bench_web_"))
    db = args.db or Path(str(workdir)) / "bench.duckdb"
    if not db.exists():
        print(f"building {args.rows:,} measurements in {db}")
        print(f"built in {build(db, args.rows):.0f} s, {db.stat().st_size / 1e9:.2f} GB")
    with duckdb.connect(str(db), read_only=True) as con:
        total = con.execute("SELECT count(*) FROM measurements").fetchone()
        UIDS.extend(row[0] for row in con.execute(
            "SELECT measurement_uid FROM measurements USING SAMPLE 200 ROWS").fetchall())
    print(f"store: {total[0] if total else 0:,} measurements")
    connection_cost(db, UIDS[0])
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "censorwatch", "serve", "--db", str(db), "--listen", f"127.0.0.1:{port}",
         "--no-refresh"],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        rng = random.Random(1)
        print(f"\n{args.concurrency} concurrent clients, up to {args.requests} requests or {args.seconds:.0f} s "
              f"per endpoint, loopback, server on {os.cpu_count()} cores")
        print(f"{'endpoint':32} {'n':>5} {'p50 ms':>8} {'p99 ms':>8} {'p99/baseline p99':>17}")
        baseline: float | None = None
        worst = 0.0
        for name, make in endpoints(rng).items():
            asyncio.run(load(base, make, 20, 2, 10))  # warm the path (first query plans, page cache)
            latencies = asyncio.run(load(base, make, args.requests, args.concurrency, args.seconds))
            p50, p99 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000
            if baseline is None:
                baseline = p99
            else:
                worst = max(worst, p99)
            print(f"{name:32} {len(latencies):>5} {p50:>8.1f} {p99:>8.1f} {p99 / baseline:>16.1f}x", flush=True)
        print(f"\nworst API p99: {worst:.1f} ms (target < 100 ms)")
    finally:
        server.terminate()
        server.wait(timeout=20)
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
