"""The probe's other tests through the lab (issue #24 item 6): one `--test` run of every test
together, against the same tests run one after another, in the same session. For each test the
lab's reachable case is measured (every test's servers on loopback); prints the time per test,
the run's wall time and peak RSS, and the ratio. Each run is its own process, so its peak memory
is its own (the tor and openvpn processes the tests start are children: their peak is reported
separately as the children's maximum).

    .venv/bin/python bench/bench_probe_tests.py [--repeats 3] [--timeout 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any


def phase(spec: dict[str, object]) -> None:
    """One probe run in this process: the given tests, each with its inputs, at the given concurrency."""
    from censorwatch.analysis.store_sink import StoreSink
    from censorwatch.probe.config import ProbeConfig, parse_host_port
    from censorwatch.probe.endpoints_file import load_endpoints
    from censorwatch.probe.job_plan import plan_jobs
    from censorwatch.probe.runner import ProbeRunner

    config = ProbeConfig(resolver=parse_host_port(str(spec["resolver"]), 53), test_helper=str(spec["helper"]),
                         ca_file=Path(str(spec["ca"])), source_address=str(spec["source"]),
                         timeout=float(str(spec["timeout"])), probe_cc="RU")
    endpoints = load_endpoints(Path(str(spec["endpoints"])))
    runtimes: dict[str, float] = defaultdict(float)

    def sink(measurement: dict[str, object]) -> None:
        runtime = measurement.get("test_runtime")
        runtimes[str(measurement["test_name"])] += float(runtime) if isinstance(runtime, (int, float)) else 0.0

    store_sink = StoreSink(None)  # verdicts computed as in a real run; no store I/O in the figure
    started = time.monotonic()
    # Each test with its own case's URLs: a URL test given another test's URL would measure a lab
    # server made for that other test.
    inputs: dict[str, list[str]] = spec["inputs"]  # type: ignore[assignment]
    jobs = [job for name, urls in inputs.items() for job in plan_jobs([name], urls, endpoints)]
    summary = asyncio.run(ProbeRunner(config, int(str(spec["concurrency"])), [sink, store_sink], endpoints).run(jobs))
    elapsed = time.monotonic() - started
    print(json.dumps({
        "measured": summary.measured, "seconds": elapsed, "runtimes": runtimes,
        "verdicts": {f"{test} {verdict}/{blocking}": count
                     for (test, verdict, blocking), count in store_sink.counts.items()},
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "children_peak_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }))


def run_phase(spec: dict[str, object]) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--phase", json.dumps(spec)], capture_output=True, text=True,
                         check=True, timeout=3600)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        phase(json.loads(args.phase))
        return
    from censorwatch.lab import Lab
    from censorwatch.probe.endpoints_file import write_endpoints

    with tempfile.TemporaryDirectory() as work, Lab(Path(work), tests=None) as lab:
        reachable = {}
        for case in lab.runnable_app_cases:
            if case.expected_verdict == "ok" and case.test_name not in reachable:
                reachable[case.test_name] = case
        endpoints = Path(work) / "bench-endpoints.yaml"
        write_endpoints(endpoints, {name: case.section for name, case in reachable.items()})
        tests = sorted(reachable)
        base = {"resolver": lab.resolver, "helper": lab.test_helper_url, "ca": str(lab.ca_file),
                "source": lab.censored_source, "timeout": args.timeout, "endpoints": str(endpoints)}
        print(f"lab: the reachable case of {len(tests)} tests: {', '.join(tests)}; {args.repeats} repeats")
        together: list[dict[str, Any]] = []
        apart: list[dict[str, Any]] = []
        for _ in range(args.repeats):
            inputs = {name: list(reachable[name].inputs) for name in tests}
            together.append(run_phase({**base, "inputs": inputs, "concurrency": args.concurrency}))
            runs = [run_phase({**base, "inputs": {name: inputs[name]}, "concurrency": 1}) for name in tests]
            apart.append({"seconds": sum(r["seconds"] for r in runs),
                          "runtimes": {name: r["runtimes"].get(name, 0.0) for name, r in zip(tests, runs, strict=True)},
                          "peak_mib": max(r["peak_mib"] for r in runs),
                          "children_peak_mib": max(r["children_peak_mib"] for r in runs)})
    print(f"\n{'test':<20} {'measurement time, together (median s)':>38} {'alone (median s)':>18}")
    for name in tests:
        with_all = statistics.median(r["runtimes"].get(name, 0.0) for r in together)
        alone = statistics.median(r["runtimes"][name] for r in apart)
        print(f"{name:<20} {with_all:>38.2f} {alone:>18.2f}")
    wall_together = statistics.median(r["seconds"] for r in together)
    wall_apart = statistics.median(r["seconds"] for r in apart)
    print(f"\nall tests in one run (--test each, concurrency {args.concurrency}): {wall_together:.1f} s wall, "
          f"peak RSS {max(r['peak_mib'] for r in together):.0f} MiB "
          f"(children {max(r['children_peak_mib'] for r in together):.0f} MiB)")
    print(f"one test after another (baseline, concurrency 1):  {wall_apart:.1f} s wall, "
          f"peak RSS {max(r['peak_mib'] for r in apart):.0f} MiB")
    print(f"speed-up of one run over the baseline: {wall_apart / wall_together:.1f}x")
    print("verdicts (last together run):", together[-1]["verdicts"])


if __name__ == "__main__":
    main()
