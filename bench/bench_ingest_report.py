"""The tables bench_ingest.py prints: every phase's row against the bound of the same run, the
loads of the parts, and with --repeats each round's ratios against that round's own bound."""

from __future__ import annotations

import os
import statistics
from typing import Any

from bench_ingest_data import Tree

TARGET = 0.50  # the target for x bound/c
# The rows report_rounds follows run by run, in the order --headline runs them: (name, phase,
# cores; None: --workers).
HEADLINE_ROWS = (
    ("ingest ooni", "ingest", 1),
    ("process --cluster none", "process-one", 1),
    ("process --raw copy", "process-copy", None), ("the same, cluster already up", "process-copy-warm", None),
    ("the same, plain process pool (no Dask)", "process-pool", None),
    ("censorwatch process (CLI)", "process-cli", None),
)


def ratio(result: dict[str, Any], cores: int, bound: dict[str, Any]) -> float:
    """Throughput / (cores x the bound's throughput on one core)."""
    rate: float = result["measurements"] / result["seconds"]
    per_core: float = bound["measurements"] / bound["seconds"]
    return rate / (cores * per_core)


def row(name: str, cores: int, result: dict[str, Any], tree: Tree, bound: dict[str, Any], width: int = 30) -> None:
    seconds, cpu = result["seconds"], result["cpu_seconds"]
    rate = result["measurements"] / seconds
    per_core = ratio(result, cores, bound)
    cpu_ratio = (result["measurements"] / cpu) / (bound["measurements"] / bound["cpu_seconds"])
    print(f"{name:<{width}} {cores:>5} {result['measurements']:>8} {seconds:8.2f} {rate:10.0f} "
          f"{tree.json_bytes / seconds / 1e6:8.1f} {result['peak_mib']:9.0f} {cpu:7.1f} {per_core:10.3f} "
          f"{cpu_ratio:9.3f}")


def header(width: int = 30) -> None:
    """The columns `row` prints."""
    print(f"\n{'path':<{width}} {'cores':>5} {'meas.':>8} {'wall s':>8} {'meas/s':>10} {'MB/s':>8} "
          f"{'peak MiB':>9} {'CPU s':>7} {'x bound/c':>10} {'x b/CPU':>9}")


def report_headline(results: dict[str, dict[str, Any]], tree: Tree, workers: int) -> None:
    """The table of --headline: the bound and the paths the issue's target is about."""
    bound = results["bound"]
    header(width=40)
    row("bound: gunzip + orjson.loads", 1, bound, tree, bound, width=40)
    for name, key, cores in HEADLINE_ROWS:
        row(name, cores or workers, results[key], tree, bound, width=40)


def report(results: dict[str, dict[str, Any]], tree: Tree, workers: int) -> None:
    from censorwatch.distributed.parts import ROW_GROUP
    from censorwatch.sources.ingest import BATCH, BATCH_BYTES

    bound = results["bound"]
    header()
    row("(gunzip + line split only)", 1, results["gunzip"], tree, bound)
    row("bound: gunzip + orjson.loads", 1, bound, tree, bound)
    row("(bound with Python's gzip)", 1, results["bound-stdlib"], tree, bound)
    row("(bound with zlib-ng)", 1, results["bound-zlib-ng"], tree, bound)
    row(f"bound x{workers} processes", workers, results["bound-parallel"], tree, bound)
    row("ingest ooni -> DuckDB", 1, results["ingest"], tree, bound)
    row("reanalyse (the store again)", 1, results["reanalyse"], tree, bound)
    row("process --cluster none", 1, results["process-one"], tree, bound)
    row(f"process, LocalCluster x{workers}", workers, results["process"], tree, bound)
    row("  the same, cluster already up", workers, results["process-warm"], tree, bound)
    row(f"process --raw link, x{workers}", workers, results["process-link"], tree, bound)
    row("  the same, cluster already up", workers, results["process-link-warm"], tree, bound)
    row(f"process --raw copy, x{workers}", workers, results["process-copy"], tree, bound)
    row("  the same, cluster already up", workers, results["process-copy-warm"], tree, bound)
    row(f"  the same, plain pool x{workers}", workers, results["process-pool"], tree, bound)
    row(f"censorwatch process (CLI) x{workers}", workers, results["process-cli"], tree, bound)
    row("(copying the input files)", 1, results["copy-inputs"], tree, bound)
    print("\nloading the parts (`ingest parquet`, one process) and the whole way from the raw tree to the store")
    print(f"{'path':<44} {'wall s':>8} {'meas/s':>10} {'peak MiB':>9} {'CPU s':>7} {'store MB':>9}")
    for raw in ("embed", "link", "copy"):
        load, made = results[f"ingest-parquet-{raw}"], results["process" if raw == "embed" else f"process-{raw}"]
        print(f"{'ingest parquet of --raw ' + raw + ' parts':<44} {load['seconds']:8.2f} "
              f"{load['measurements'] / load['seconds']:10.0f} {load['peak_mib']:9.0f} {load['cpu_seconds']:7.1f} "
              f"{(load['db_bytes'] + load['cans_bytes']) / 1e6:9.0f}")
        total = made["seconds"] + load["seconds"]
        print(f"{'  process --raw ' + raw + ' x' + str(workers) + ' + ingest parquet':<44} {total:8.2f} "
              f"{made['measurements'] / total:10.0f} {'':>9} {made['cpu_seconds'] + load['cpu_seconds']:7.1f}")
    one = results["ingest"]
    print(f"{'  against: ingest ooni, one process':<44} {one['seconds']:8.2f} "
          f"{one['measurements'] / one['seconds']:10.0f} {one['peak_mib']:9.0f} {one['cpu_seconds']:7.1f} "
          f"{(one['db_bytes'] + one['cans_bytes']) / 1e6:9.0f}")

    def against(reference: dict[str, Any]) -> str:
        return ", ".join(
            f"{name} {ratio(results[key], cores, reference):.3f}"
            for name, key, cores in (("ingest", "ingest", 1), ("process --cluster none", "process-one", 1),
                                     ("process", "process", workers),
                                     ("process --raw copy", "process-copy", workers),
                                     ("the same, cluster already up", "process-copy-warm", workers),
                                     ("censorwatch process (CLI)", "process-cli", workers))
        )

    from censorwatch.gzip_stream import INFLATER

    print(f"The bound reads with censorwatch's own line reader (sources/line_reader.py: {INFLATER.__name__}, "
          f"1 MiB blocks), as ingest and process do. x bound/c against the bound with zlib-ng (what the line "
          f"reader uses where ISA-L is not installed): {against(results['bound-zlib-ng'])}; against the bound "
          f"with Python's gzip module: {against(results['bound-stdlib'])}.")
    print(f"MB = 10^6 bytes of uncompressed JSON; x bound/c = throughput / (cores x bound per core), the "
          f"issue's measure, target >= {TARGET:.2f}; peak MiB = highest sampled RSS of the phase's processes "
          f"together; CPU s = user+sys of the phase's process tree, start-up included; x b/CPU = measurements "
          f"per CPU second / the bound's (what the code costs, whatever else runs on the machine). Load average "
          f"{os.getloadavg()[0]:.2f} at the end (others share this machine).")
    ingest, process = results["ingest"], results["process"]
    print(f"stored: DuckDB {ingest['stored']} ({ingest['db_bytes'] / 1e6:.0f} MB file + "
          f"{ingest['cans_bytes'] / 1e6:.0f} MB of cans), Parquet {process['stored']} "
          f"in {process['parts']} parts ({process['parquet_bytes'] / 1e6:.0f} MB; linked to their input files: "
          f"{results['process-link']['parquet_bytes'] / 1e6:.1f} MB); skipped {ingest['skipped']} / "
          f"{process['skipped']}; --raw copy kept the input files as {results['process-copy']['kept']}")
    uids = results["uids"]
    if uids["measurements"]:
        per_100k = uids["seconds"] * 100_000 / uids["measurements"]
        bound_cpu = bound["cpu_seconds"] * 100_000 / bound["measurements"]
        print(f"deriving uids (BLAKE3 of the JSON as received), one process: {per_100k:.2f} CPU s per 100,000 "
              f"against the bound's {bound_cpu:.2f} CPU s, start-up included ({uids['measurements']} lines "
              "without a uid)")
    else:
        print("deriving uids: every line carries a uid (--given-uids), none derived")
    print(f"batches end at {BATCH} rows or {BATCH_BYTES >> 20} MiB of JSON: {BATCH} consecutive measurements here "
          f"would be up to {tree.largest_run(BATCH, True) / 1e6:.0f} MB, {ROW_GROUP} in one file (a Parquet row "
          f"group) up to {tree.largest_run(ROW_GROUP, False) / 1e6:.0f} MB")


def report_rounds(rounds: list[dict[str, dict[str, Any]]], workers: int) -> None:
    """Each round against its own bound: the machine's other load moves a phase and the bound
    run just before it together, so these pairs vary less than any one phase's times."""
    print(f"\n{len(rounds)} rounds, every phase once per round; the rows above show each phase's fastest run "
          "(the bound's too, which only lowers the ratios). Each round's x bound/c against that round's bound:")
    print("  bound, s: " + " ".join(f"{run['bound']['seconds']:.2f}" for run in rounds))
    for name, key, cores in HEADLINE_ROWS:
        ratios = [ratio(run[key], cores or workers, run["bound"]) for run in rounds]
        print(f"  {name}: " + " ".join(f"{value:.3f}" for value in ratios)
              + f" (median {statistics.median(ratios):.3f})")
