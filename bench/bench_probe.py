"""Probe throughput through the censor lab: N lab URLs of mixed blocking types, concurrent
(default 16) against sequential (concurrency 1) in the same run. Prints URLs/s, peak RSS and the
ratio. Each phase runs in its own process so peak memory is the phase's own.

    .venv/bin/python bench/bench_probe.py [--urls 120] [--concurrency 16] [--timeout 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def phase(args: argparse.Namespace) -> None:
    from censorwatch.analysis.store_sink import StoreSink
    from censorwatch.probe.config import ProbeConfig, parse_host_port
    from censorwatch.probe.runner import ProbeRunner, web_jobs

    spec = json.loads(args.phase)
    config = ProbeConfig(
        resolver=parse_host_port(spec["resolver"], 53), test_helper=spec["helper"], ca_file=Path(spec["ca"]),
        source_address=spec["source"], timeout=spec["timeout"], probe_cc="RU",
    )
    sink = StoreSink(None)  # verdicts computed as in a real run; no store I/O in the figure
    started = time.monotonic()
    summary = asyncio.run(ProbeRunner(config, spec["concurrency"], [sink]).run(web_jobs(spec["urls"])))
    elapsed = time.monotonic() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"measured": summary.measured, "seconds": elapsed, "peak_mib": peak_mib}))


def run_phase(spec: dict[str, object]) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--phase", json.dumps(spec)], capture_output=True, text=True,
                         check=True, timeout=3600)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--urls", type=int, default=120)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        phase(args)
        return
    from censorwatch.lab import Lab

    with tempfile.TemporaryDirectory() as work, Lab(Path(work)) as lab:
        cases = lab.runnable_cases
        urls = [f"{cases[i % len(cases)].url}?n={i}" for i in range(args.urls)]
        base = {"resolver": lab.resolver, "helper": lab.test_helper_url, "ca": str(lab.ca_file),
                "source": lab.censored_source, "timeout": args.timeout, "urls": urls}
        print(f"lab: {len(cases)} cases ({', '.join(c.name for c in cases)}), {len(urls)} URLs, "
              f"timeout {args.timeout}s")
        concurrent = run_phase({**base, "concurrency": args.concurrency})
        sequential = run_phase({**base, "concurrency": 1})
    for name, result in (("concurrent", concurrent), ("sequential", sequential)):
        rate = result["measured"] / result["seconds"]
        print(f"{name:>10} ({args.concurrency if name == 'concurrent' else 1:>2}): {result['measured']:.0f} URLs "
              f"in {result['seconds']:.1f}s = {rate:.2f} URLs/s, peak RSS {result['peak_mib']:.0f} MiB")
    ratio = (concurrent["measured"] / concurrent["seconds"]) / (sequential["measured"] / sequential["seconds"])
    print(f"speed-up over the sequential baseline: {ratio:.1f}x")


if __name__ == "__main__":
    main()
