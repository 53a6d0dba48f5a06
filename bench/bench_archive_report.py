"""bench_archive.py's tables: phases, sizes, query latency, profiles, and (below 1,000,000
documents) an extrapolation to a million, labelled as one."""

from __future__ import annotations

import math
from typing import Any

TARGET_MS = 100.0
TARGETED = ("ru term", "en term", "zh word", "ru phrase", "zh phrase", "identifier")
MILLION = 1_000_000


def _mb(value: float) -> str:
    return f"{value / 1e6:,.1f} MB" if value < 1e9 else f"{value / 1e9:,.2f} GB"


def _row(cells: list[str], widths: list[int]) -> str:
    return "  ".join(cell.ljust(width) if i == 0 else cell.rjust(width) for i, (cell, width) in
                     enumerate(zip(cells, widths, strict=True)))


def _table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    print(f"\n{title}")
    print(_row(header, widths))
    print("  ".join("-" * width for width in widths))
    for row in rows:
        print(_row(row, widths))


def _phases(figures: dict[str, Any]) -> None:
    rows = []
    ingest = figures.get("ingest")
    if ingest:
        added = ingest["report"]["added"] + ingest["report"]["children"]
        rows.append([f"(a) archive add, CLI (--workers {ingest['workers'] or 'default'})", f"{added:,}",
                     f"{ingest['seconds']:.0f}", f"{added / ingest['seconds']:.0f}", f"{ingest['cpu_seconds']:.0f}",
                     f"{ingest['cpu_seconds'] * 1000 / added:.1f}",
                     f"{_mb(ingest['peak_rss_bytes'])} / {_mb(ingest['peak_rss_tree_bytes'])}"])
    build = figures["build"]
    n = build["documents"]
    cpu = build["parent_cpu_seconds"] + build["workers_cpu_seconds"]
    rows.append([f"(b) index build ({build['workers']} analysis processes + index.add)", f"{n:,}",
                 f"{build['seconds']:.0f}", f"{n / build['seconds']:.0f}", f"{cpu:.0f}", f"{cpu * 1000 / n:.1f}",
                 f"{_mb(build['peak_rss_parent_bytes'])} / {_mb(build['peak_rss_tree_bytes'])}"])
    for label, seconds in (("generating (the bench's own cost)", build["generating_cpu_seconds"]),
                           ("languages + entities (analysed.py)", build["analysing_cpu_seconds"]),
                           ("IndexedDocument + ArchiveIndex.add (this process)", build["parent_cpu_seconds"])):
        rows.append([f"      {label}", "", "", "", f"{seconds:.0f}", f"{seconds * 1000 / n:.1f}", ""])
    rows.append(["      index.add wall (incl. waiting for CPU) / final merge wait", "",
                 f"{build['index_add_seconds']:.0f} / {build['merge_wait_seconds']:.0f}", "", "", "", ""])
    small = build.get("small")
    if small:
        rate = small["documents"] / small["seconds"]
        rows.append([f"(b) baseline index: ArchiveIndex.add alone, first {small['documents']:,}",
                     f"{small['documents']:,}", f"{small['seconds']:.0f}", f"{rate:.0f}",
                     f"{small['cpu_seconds']:.0f}", f"{small['cpu_seconds'] * 1000 / small['documents']:.1f}", ""])
    queries = figures["queries"]["process"]
    rows.append(["(c) queries (both indexes, 3 + 2 timings per query)", "", f"{queries['seconds']:.0f}", "",
                 f"{queries['cpu_seconds']:.0f}", "", _mb(queries["peak_rss_bytes"])])
    _table("Phases (wall and CPU seconds; peak RSS: largest process / process tree summed)",
           ["phase", "documents", "wall s", "docs/s", "CPU s", "CPU ms/doc", "peak RSS"], rows)


def _sizes(figures: dict[str, Any]) -> None:
    build = figures["build"]
    n = build["documents"]
    rows = [["(b) index", f"{n:,}", _mb(build["index_bytes"]), f"{build['index_bytes'] / n / 1000:.1f} KB",
             f"{build['characters'] / n:,.0f} chars/doc"]]
    small = build.get("small")
    if small:
        rows.append(["(b) baseline index", f"{small['documents']:,}", _mb(small["index_bytes"]),
                     f"{small['index_bytes'] / small['documents'] / 1000:.1f} KB", ""])
    ingest = figures.get("ingest")
    if ingest:
        added = ingest["report"]["added"] + ingest["report"]["children"]
        for label, key in (("(a) DuckDB rows", "db_bytes"), ("(a) originals", "originals_bytes"),
                           ("(a) index", "index_bytes")):
            rows.append([label, f"{added:,}", _mb(ingest[key]), f"{ingest[key] / added / 1000:.1f} KB", ""])
        rows.append(["(a) files added", f"{ingest['files']:,}", _mb(ingest["file_bytes"]),
                     f"{ingest['file_bytes'] / ingest['files'] / 1000:.1f} KB", "RTF escapes make .rtf 2-3x"])
    _table("Sizes on disk", ["what", "documents", "size", "per document", ""], rows)


def _latency(figures: dict[str, Any]) -> None:
    queries = figures["queries"]
    big, small = queries["big"], queries.get("small") or {}
    rows = []
    for kind, found in big.items():
        base = small.get(kind)
        verdict = ("yes" if found["full"]["p99"] < TARGET_MS else "NO") if kind in TARGETED else "-"
        rows.append([
            kind, f"{found['full']['p50']:.1f}", f"{found['full']['p95']:.1f}", f"{found['full']['p99']:.1f}",
            f"{found['full_cpu']['p99']:.1f}",
            f"{found['engine']['p50']:.2f}", f"{found['engine']['p99']:.1f}", f"{found['docs']['p99']:.1f}",
            f"{base['full']['p50']:.1f} / {base['full']['p99']:.1f}" if base else "-",
            f"{base['engine']['p99']:.1f}" if base else "-",
            f"{found['matches_median']:,}", verdict,
        ])
    _table(f"Query latency, ms ({queries['queries_per_type']} queries per type, 20 hits; index of "
           f"{queries['documents']:,} documents, baseline {queries.get('small_documents', 0):,})",
           ["type", "full p50", "p95", "p99", "CPU p99", "engine p50", "p99", "+docs p99", "baseline full p50/p99",
            "engine p99", "matches (median)", "p99 < 100 ms"], rows)
    print("\nfull: ArchiveIndex.search with snippets (CPU: its CPU time, without waiting for a core); engine: "
          "parse + build + tantivy search with count; +docs: engine + the 20 stored texts")
    for kind, examples in queries["examples"].items():
        print(f"  e.g. {kind}: {' | '.join(examples[:3])}")


def _profiles(figures: dict[str, Any]) -> None:
    for kind, found in figures["queries"].get("profiles", {}).items():
        shares = ", ".join(f"{name} {share:.0%}" for name, share in found["by_file_share"].items() if share >= 0.01)
        print(f"\nProfile of {found['queries']} full '{kind}' searches ({found['seconds']:.2f} s): own time by file: "
              f"{shares}")
        for row in found["top_own"][:8]:
            print(f"  {row['own_s']:7.3f} s own  {row['cumulative_s']:7.3f} s cum  {row['calls']:>7}  "
                  f"{row['function']}")


def _stages(figures: dict[str, Any]) -> None:
    found = figures["queries"].get("stages")
    if not found:
        return
    kinds = list(found)
    stage_names = list(found[kinds[0]])
    rows = []
    for stage in stage_names:
        rows.append([stage, *(f"{found[kind][stage] * 1000 / figures['queries']['queries_per_type']:.2f}"
                              for kind in kinds)])
    rows.append(["total", *(f"{sum(found[kind].values()) * 1000 / figures['queries']['queries_per_type']:.2f}"
                            for kind in kinds)])
    _table("Where a full search's time goes: ArchiveIndex.search replayed step by step, mean ms per query "
           "(big index)", ["stage", *kinds], rows)


def _extrapolation(figures: dict[str, Any]) -> None:
    build = figures["build"]
    n = build["documents"]
    if n >= MILLION:
        return
    factor = MILLION / n
    decades = math.log10(factor)
    cores = figures["cores"] or 2
    cpu = build["parent_cpu_seconds"] + build["workers_cpu_seconds"] - build["generating_cpu_seconds"]
    print(f"\nExtrapolated to {MILLION:,} documents (NOT measured; from {n:,} and the 10x smaller baseline):")
    print(f"  index build: {MILLION / (n / build['seconds']) / 3600:.1f} h at this run's rate; "
          f"{cpu / n * MILLION / cores / 3600:.1f} h CPU-bound on {cores} idle cores "
          f"({cpu * 1000 / n:.1f} ms of CPU per document, generator left out)")
    print(f"  index on disk ~{_mb(build['index_bytes'] * factor)}")
    queries = figures["queries"]
    for kind in TARGETED:
        big, small = queries["big"][kind], (queries.get("small") or {}).get(kind)
        if not small:
            continue
        # Growth from the medians: a p99 of 250 queries moves with one scheduling hiccup.
        growth = max(big["engine"]["p50"] / max(small["engine"]["p50"], 1e-3), 1.0)
        engine = big["engine"]["p99"]
        estimated = engine * growth ** decades + max(big["full"]["p99"] - engine, 0.0)
        print(f"  {kind}: full p99 ~{estimated:.0f} ms (engine p50 grew {growth:.1f}x from "
              f"{queries.get('small_documents', 0):,} to {n:,} documents, applied to the engine's p99; "
              f"the rest of the p99 held)")


def report(figures: dict[str, Any]) -> None:
    load = figures.get("load_average_start")
    print(f"\nArchive bench: {figures['command']}\ncores {figures['cores']}, load average at start "
          f"{', '.join(f'{x:.1f}' for x in load or ())}, at end "
          f"{', '.join(f'{x:.1f}' for x in figures.get('load_average_end') or ())}")
    build = figures["build"]
    if build.get("stopped_at_deadline"):
        print(f"(b) stopped at its time budget (--build-minutes): {build['documents']:,} of the "
              f"{build['requested']:,} documents asked for were indexed; every figure is for those")
    if build.get("reused"):
        print("(b) was run earlier by bench_archive_build.py with these documents (--reuse-build): its figures are "
              "that run's")
    _phases(figures)
    _sizes(figures)
    _latency(figures)
    _stages(figures)
    _profiles(figures)
    _extrapolation(figures)
