"""Probe throughput through the censor lab: N lab URLs of mixed blocking types, concurrent
(default 16) against sequential (concurrency 1) in the same run. Prints URLs/s, peak RSS, the
ratio, and what bounds it: the CPU each phase used (the probe's process, and the lab's process,
where the lab's servers and its test helper share one event-loop thread), the time spent waiting
(timeouts), the longest single measurement and the load of the machine. Each phase runs in its own
process so peak memory and CPU are the phase's own. Both phases must give every URL the verdict its
lab case expects; a difference is printed and fails the run.

    .venv/bin/python bench/bench_probe.py [--urls 120] [--concurrency 16] [--timeout 2] [--repeat 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


def phase(args: argparse.Namespace) -> None:
    from censorwatch.analysis.record import analysed_record
    from censorwatch.probe.config import ProbeConfig, parse_host_port
    from censorwatch.probe.runner import ProbeRunner, web_jobs

    spec = json.loads(args.phase)
    config = ProbeConfig(
        resolver=parse_host_port(spec["resolver"], 53), test_helper=spec["helper"], ca_file=Path(spec["ca"]),
        source_address=spec["source"], timeout=spec["timeout"], probe_cc="RU",
    )
    results: list[tuple[str, str | None, str | None, float, float]] = []
    started = time.monotonic()

    def sink(measurement: dict[str, Any]) -> None:
        # Verdicts computed as in a real run (the store's analysis); no store I/O in the figure.
        verdict = analysed_record(measurement, "probe").verdict
        runtime = measurement["test_runtime"]
        begun = time.monotonic() - started - runtime  # when the measurement began, in the phase's time
        results.append((measurement["input"], verdict.verdict, verdict.blocking, runtime, begun))

    cpu_started, started = time.process_time(), time.monotonic()
    summary = asyncio.run(ProbeRunner(config, spec["concurrency"], [sink]).run(web_jobs(spec["urls"])))
    elapsed, cpu = time.monotonic() - started, time.process_time() - cpu_started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"measured": summary.measured, "seconds": elapsed, "cpu": cpu, "peak_mib": peak_mib,
                      "results": results}))


def _process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_phase(spec: dict[str, object]) -> dict[str, Any]:
    """The phase in a child process; `lab_cpu` is this process's CPU meanwhile: its main thread only
    waits for the child, so that is the lab's thread (servers and test helper)."""
    load, lab_started = os.getloadavg()[0], _process_cpu()
    out = subprocess.run([sys.executable, __file__, "--phase", json.dumps(spec)], capture_output=True, text=True,
                         check=True, timeout=3600)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    result["lab_cpu"], result["load"] = _process_cpu() - lab_started, load
    return result


def _case_of(url: str) -> str:
    return url.partition("?")[0]


def check_verdicts(name: str, result: dict[str, Any], expected: dict[str, tuple[str, str | None, str]]) -> int:
    """expected: case URL -> (verdict, blocking, case name)."""
    wrong = Counter(
        (_case_of(url), verdict, blocking)
        for url, verdict, blocking, *_ in result["results"]
        if (verdict, blocking) != expected[_case_of(url)][:2]
    )
    for (case_url, verdict, blocking), count in sorted(wrong.items()):
        want_verdict, want_blocking, case = expected[case_url]
        print(f"  {name}: {count} x {case} judged {verdict}/{blocking}, expected {want_verdict}/{want_blocking}")
    return sum(wrong.values())


def report(args: argparse.Namespace, concurrent: dict[str, Any], sequential: dict[str, Any]) -> None:
    for name, result, level in (("concurrent", concurrent, args.concurrency), ("sequential", sequential, 1)):
        rate = result["measured"] / result["seconds"]
        print(f"{name:>10} ({level:>2}): {result['measured']:.0f} URLs in {result['seconds']:.1f}s = "
              f"{rate:.2f} URLs/s, peak RSS {result['peak_mib']:.0f} MiB; "
              f"CPU probe {result['cpu']:.2f}s + lab {result['lab_cpu']:.2f}s; "
              f"load {result['load']:.1f} on {os.cpu_count()} cores")
    ratio = (concurrent["measured"] / concurrent["seconds"]) / (sequential["measured"] / sequential["seconds"])
    print(f"speed-up over the sequential baseline: {ratio:.1f}x")
    # What no concurrency can beat: the longest single measurement (a connect that times out waits its whole
    # timeout), and the CPU both processes need spread over every core.
    cpu = sequential["cpu"] + sequential["lab_cpu"]
    longest = max(runtime for *_, runtime, _ in sequential["results"])
    floor = max(longest, cpu / (os.cpu_count() or 1))
    print(f"sequential: {sequential['seconds']:.1f}s = {cpu:.1f}s CPU (probe and lab) + "
          f"{sequential['seconds'] - cpu:.1f}s waiting; longest measurement {longest:.1f}s; "
          f"at best {floor:.1f}s concurrent = {sequential['seconds'] / floor:.1f}x")
    url, *_, runtime, begun = max(concurrent["results"], key=lambda row: row[4])
    print(f"concurrent: every URL begun by {begun:.1f}s, then {concurrent['seconds'] - begun:.1f}s for the last "
          f"ones (the last begun, {urlsplit(url).hostname}, took {runtime:.1f}s)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--urls", type=int, default=120)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument("--repeat", type=int, default=1, help="pairs of phases to run, one after the other")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        phase(args)
        return
    from censorwatch.lab import Lab

    wrong = 0
    with tempfile.TemporaryDirectory() as work, Lab(Path(work)) as lab:
        cases = lab.runnable_cases
        expected = {case.url: (case.expected_verdict, case.expected_blocking, case.name) for case in cases}
        urls = [f"{cases[i % len(cases)].url}?n={i}" for i in range(args.urls)]
        base = {"resolver": lab.resolver, "helper": lab.test_helper_url, "ca": str(lab.ca_file),
                "source": lab.censored_source, "timeout": args.timeout, "urls": urls}
        print(f"lab: {len(cases)} cases ({', '.join(c.name for c in cases)}), {len(urls)} URLs, "
              f"timeout {args.timeout}s")
        for run in range(args.repeat):
            concurrent = run_phase({**base, "concurrency": args.concurrency})
            sequential = run_phase({**base, "concurrency": 1})
            if args.repeat > 1:
                print(f"-- run {run + 1} of {args.repeat}")
            report(args, concurrent, sequential)
            wrong += check_verdicts("concurrent", concurrent, expected)
            wrong += check_verdicts("sequential", sequential, expected)
    if wrong:
        raise SystemExit(f"{wrong} verdicts differ from the lab's expectations")
    print("verdicts: every URL as its lab case expects, in both phases")


if __name__ == "__main__":
    main()
