"""Where the time of bench_ingest goes: stage timers around the real ingest and process paths
(cheap wrappers, no profiler), a cProfile of the single-process ingest, and the analysis cost of
each real measurement against its parse cost. Used by bench_ingest.py's profile phase.

The timers replace module attributes of censorwatch for the duration of one run (the code paths
stay the library's own; only a clock is put around named stages) and restore them afterwards."""

from __future__ import annotations

import cProfile
import pstats
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import orjson

from bench_ingest_data import load_templates

T = TypeVar("T")


class Clock:
    def __init__(self, *stages: str) -> None:
        """`stages` in the order to print them; a stage named with leading spaces is part of the
        stage above it."""
        self.seconds: defaultdict[str, float] = defaultdict(float)
        for stage in stages:
            self.seconds[stage] = 0.0
        self.largest_batch = 0

    def wrap(self, stage: str, function: Callable[..., T]) -> Callable[..., T]:
        def timed(*args: Any, **kwargs: Any) -> T:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[stage] += time.perf_counter() - started

        return timed

    def iterate(self, stage: str, items: Iterable[T]) -> Iterator[T]:
        iterator = iter(items)
        while True:
            started = time.perf_counter()
            try:
                item = next(iterator)
            except StopIteration:
                return
            finally:
                self.seconds[stage] += time.perf_counter() - started
            yield item


@contextmanager
def patched(owner: object, name: str, value: object) -> Iterator[None]:
    original = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, original)


def ingest_breakdown(root: Path, db: Path) -> tuple[Clock, float]:
    """`ingest ooni`'s path with clocks on reading, analysing (and its fingerprint scan and
    meta_of), and storing."""
    from censorwatch.analysis import fingerprints, record
    from censorwatch.sources import ingest
    from censorwatch.store import Store

    clock = Clock("read", "analyse", "  meta_of", "  fingerprints", "store")
    original_add = Store.add
    # One-off costs (compiling the fingerprint database) outside the clocks: they are paid once
    # per process, and at this profile's size they would pass for per-measurement time.
    fingerprints.load_fingerprints().match_http("<title>warm-up</title>", {})

    def add(store: Store, batch: Any, *args: Any, **kwargs: Any) -> int:
        items = list(batch)
        clock.largest_batch = max(clock.largest_batch, sum(len(item.raw) for item in items))
        added: int = original_add(store, items, *args, **kwargs)
        return added

    with ExitStack() as stack:
        read = ingest.read_records
        stack.enter_context(patched(ingest, "read_records", lambda *a, **k: clock.iterate("read", read(*a, **k))))
        stack.enter_context(patched(ingest, "analysed_record", clock.wrap("analyse", ingest.analysed_record)))
        stack.enter_context(patched(record, "meta_of", clock.wrap("  meta_of", record.meta_of)))
        match_http = fingerprints.Fingerprints.match_http
        stack.enter_context(patched(fingerprints.Fingerprints, "match_http", clock.wrap("  fingerprints", match_http)))
        stack.enter_context(patched(Store, "add", clock.wrap("store", add)))
        started = time.perf_counter()
        with Store(db) as store:
            ingest.ingest_files(store, [root], "ooni")
        total = time.perf_counter() - started
    return clock, total


def process_breakdown(root: Path, out: Path) -> tuple[Clock, float]:
    """process_file (the Dask task) over every file in this process, with clocks."""
    from censorwatch.distributed import file_task
    from censorwatch.distributed.parts import PartWriter
    from censorwatch.sources import ooni_files
    from censorwatch.sources.ooni_files import expand_paths

    clock = Clock("read", "analyse", "  meta_of", "parquet")
    read_records = ooni_files.read_records

    def timed_read(path: Path, shown_as: Path | None = None) -> Iterator[Any]:
        return clock.iterate("read", read_records(path, shown_as))

    from censorwatch.analysis import record

    with ExitStack() as stack:
        stack.enter_context(patched(ooni_files, "read_records", timed_read))
        stack.enter_context(patched(file_task, "analysed_record", clock.wrap("analyse", file_task.analysed_record)))
        stack.enter_context(patched(record, "meta_of", clock.wrap("  meta_of", record.meta_of)))
        stack.enter_context(patched(PartWriter, "add", clock.wrap("parquet", PartWriter.add)))
        stack.enter_context(patched(PartWriter, "close", clock.wrap("parquet", PartWriter.close)))
        started = time.perf_counter()
        for path in expand_paths([root]):
            file_task.process_file(path, out)
        total = time.perf_counter() - started
    return clock, total


def print_breakdown(title: str, clock: Clock, total: float, measurements: int, json_bytes: int) -> None:
    print(f"{title}: {measurements} measurements, {json_bytes / 1e6:.1f} MB, {total:.2f} s "
          f"({measurements / total:.0f}/s)")
    accounted = sum(s for stage, s in clock.seconds.items() if not stage.startswith(" "))
    for stage, seconds in [*clock.seconds.items(), ("other (loop, rows, counting)", total - accounted)]:
        print(f"  {stage:<30} {seconds:7.2f} s {100 * seconds / total:5.1f}%")
    if clock.largest_batch:
        print(f"  largest store batch: {clock.largest_batch / 1e6:.0f} MB of raw JSON")


def print_cprofile(root: Path, db: Path, run: Callable[[str, Path], Any]) -> None:
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.runcall(run, str(root), db)
    seconds = time.perf_counter() - started
    table: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = (
        pstats.Stats(profiler).stats  # type: ignore[attr-defined]  # undocumented but stable
    )
    total = sum(row[2] for row in table.values())
    print(f"cProfile of the single-process ingest ({seconds:.2f} s under the profiler)")
    print(f"  {'own s':>7} {'own %':>6} {'cum s':>7} {'calls':>9}  top functions by own time")
    for where, (_, calls, own, cumulative, _) in sorted(table.items(), key=lambda kv: -kv[1][2])[:16]:
        print(f"  {own:7.2f} {100 * own / total:5.1f}% {cumulative:7.2f} {calls:9d}  {_short(where)}")
    print(f"  {'cum s':>7} {'cum %':>6} {'calls':>9}  censorwatch functions by cumulative time")
    ours = [(w, r) for w, r in table.items() if "censorwatch" in w[0]]
    for where, (_, calls, _own, cumulative, _) in sorted(ours, key=lambda kv: -kv[1][3])[:16]:
        print(f"  {cumulative:7.2f} {100 * cumulative / total:5.1f}% {calls:9d}  {_short(where)}")


def _short(where: tuple[str, int, str]) -> str:
    path, line, name = where
    for marker in ("/src/", "/site-packages/", "/lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{path}:{line}({name})" if line else name


def print_template_costs(source: Path, repeats: int) -> None:
    """Per real measurement: analysed_record (meta + verdict) against orjson.loads, no profiler."""
    from censorwatch.analysis.record import analysed_record

    rows: list[tuple[str, int, float, float]] = []
    templates = load_templates(source)[0]
    for template in templates:  # first calls build lookup tables and compile patterns: not timed
        analysed_record(orjson.loads(template.body), "ooni", template.body)
    for template in templates:
        raw = template.body
        started = time.perf_counter()
        for _ in range(repeats):
            orjson.loads(raw)
        parse = (time.perf_counter() - started) / repeats
        measurement = orjson.loads(raw)
        started = time.perf_counter()
        for _ in range(repeats):
            analysed_record(measurement, "ooni", raw)
        analyse = (time.perf_counter() - started) / repeats
        rows.append((template.name.rsplit("/", 1)[-1], len(raw), parse, analyse))
    total_parse = sum(r[2] for r in rows)
    total_analyse = sum(r[3] for r in rows)
    print(f"per real measurement (each is 1/{len(rows)} of the input), mean of {repeats}: all together "
          f"analysed_record {total_analyse * 1000:.1f} ms vs orjson.loads {total_parse * 1000:.2f} ms "
          f"({total_analyse / total_parse:.0f}x)")
    print(f"  {'analyse us':>10} {'share':>6} {'parse us':>9} {'x parse':>8} {'bytes':>8}  measurement")
    for name, size, parse, analyse in sorted(rows, key=lambda r: -r[3])[:10]:
        print(f"  {analyse * 1e6:10.0f} {100 * analyse / total_analyse:5.1f}% {parse * 1e6:9.0f} "
              f"{analyse / parse:8.1f} {size:8d}  {name}")
