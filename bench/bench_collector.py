"""Collector throughput and latency under concurrent load on loopback, against the floor set by
plain fsync'd appends to a file on the same disk in the same run.

    .venv/bin/python bench/bench_collector.py [--clients 20] [--per-client 50] [--payload 2000]

Bounded: at most clients x per-client submissions and --time-limit seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

OPEN = {
    "probe_cc": "IT", "probe_asn": "AS30722", "software_name": "censorwatch", "software_version": "0.1.0",
    "test_name": "dnscheck", "test_version": "0.1.0", "data_format_version": "0.2.0", "format": "json",
}


def measurement(client: int, n: int, payload: int) -> dict[str, Any]:
    return {
        "test_name": "dnscheck", "probe_cc": "IT", "probe_asn": "AS30722", "probe_ip": "127.0.0.1",
        "input": f"dot://resolver-{client}-{n}.example/", "measurement_start_time": "2026-11-25 07:00:00",
        "test_keys": {"client": client, "n": n, "padding": "p" * payload},
    }


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def start_collector(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    command = [sys.executable, "-m", "censorwatch", "collector", "--listen", "127.0.0.1:0",
               "--db", str(workdir / "bench.duckdb"), "--spool", str(workdir / "spool")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert process.stdout is not None
    found: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith(b"collector listening on "):
                found.append(line.decode().split()[-1])
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(30)
    if not found:
        process.kill()
        raise SystemExit("the collector did not start")
    return process, found[0]


async def load(url: str, clients: int, per_client: int, payload: int, limit: float) -> tuple[list[float], float]:
    latencies: list[float] = []
    deadline = time.monotonic() + limit

    async def client(index: int) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            report_id = (await http.post("/report", json=OPEN)).json()["report_id"]
            for n in range(per_client):
                if time.monotonic() > deadline:
                    return
                body = {"format": "json", "content": measurement(index, n, payload)}
                started = time.perf_counter()
                response = await http.post(f"/report/{report_id}", json=body)
                latencies.append(time.perf_counter() - started)
                response.raise_for_status()
            await http.post(f"/report/{report_id}/close")

    started = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    return latencies, time.perf_counter() - started


def fsync_appends(path: Path, count: int, payload: int) -> tuple[list[float], float]:
    """The floor: one write + fsync per record, sequential, no HTTP, no JSON parsing."""
    record = orjson.dumps(measurement(0, 0, payload)) + b"\n"
    latencies = []
    started = time.perf_counter()
    with open(path, "ab") as handle:
        for _ in range(count):
            begin = time.perf_counter()
            handle.write(record)
            handle.flush()
            os.fsync(handle.fileno())
            latencies.append(time.perf_counter() - begin)
    return latencies, time.perf_counter() - started


def report(name: str, latencies: list[float], elapsed: float) -> float:
    rate = len(latencies) / elapsed
    print(f"{name:<34} {len(latencies):>6} in {elapsed:6.2f}s  {rate:8.1f}/s  "
          f"p50 {statistics.median(latencies) * 1000:7.2f} ms  p99 {percentile(latencies, 0.99) * 1000:7.2f} ms")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--per-client", type=int, default=50)
    parser.add_argument("--payload", type=int, default=2000, help="bytes of padding per measurement")
    parser.add_argument("--time-limit", type=float, default=60.0)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-collector-", dir=Path.cwd()) as scratch:
        workdir = Path(scratch)
        total = options.clients * options.per_client
        base_latencies, base_elapsed = fsync_appends(workdir / "plain.log", total, options.payload)
        process, url = start_collector(workdir)
        try:
            latencies, elapsed = asyncio.run(
                load(url, options.clients, options.per_client, options.payload, options.time_limit)
            )
        finally:
            process.terminate()
            process.wait(60)
        print(f"collector benchmark: {options.clients} concurrent clients, {options.payload}-byte measurements, "
              f"{os.cpu_count()} CPUs")
        base = report("plain fsync'd appends (1 writer)", base_latencies, base_elapsed)
        rate = report("collector submissions", latencies, elapsed)
        print(f"ratio collector / plain fsync appends: {rate / base:.3f}x "
              f"(the collector adds HTTP, JSON checks, scrubbing, analysis and DuckDB inserts; "
              f"the load generator shares the same CPUs)")


if __name__ == "__main__":
    main()
