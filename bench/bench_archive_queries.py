"""Phase (c) of bench_archive.py, in its own interpreter: query latency on the index phase (b)
built (DIR/index) and on its 10x smaller baseline (DIR/index-small, the first tenth of the same
documents), with the same queries.

    .venv/bin/python bench/bench_archive_queries.py --work DIR [--queries 250] [--profile]

Queries per type, drawn from the seed documents' words (half weighted by how often a word
occurs, so common words like информации are among them; half uniformly over distinct words)
and from identifiers phase (b) saw in the first tenth of its documents (so they match in both
indexes). Each query is timed three ways, one after another, full first (so that it, not the
engine's figure, pays for anything not yet in memory):

  full      ArchiveIndex.search(query, language=, collection=, limit=20): what `archive search`
            and the web page get: parsing, the engine, stored texts and snippets
  engine    query.parse_query + query_build.build_query + the same filters, then tantivy's
            searcher.search(limit=20, count=True): matching, scoring and counting alone
  +docs     engine, then the 20 hits' stored documents fetched and their text decoded

full minus +docs is snippets.py (and the reader's reload); +docs minus engine is the doc store.
Writes DIR/queries.json; --profile adds a cProfile of the full searches of each type whose p99
misses the target (or all types with --profile all)."""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import random
import re
import resource
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson
import rjieba
import tantivy

from bench_archive_data import Corpus, load_corpus
from censorwatch.archive.index import ArchiveIndex
from censorwatch.archive.index_schema import BODY
from censorwatch.archive.query import parse_query
from censorwatch.archive.query_build import build_query
from censorwatch.archive.snippets import _SCAN_CHARS, MAX_CHARS, SnippetMaker, _best_window, _collapse, _window

TARGET_MS = 100.0
LIMIT = 20
# Types the issue sets the p99 target for (term, phrase, identifier).
TARGETED = ("ru term", "en term", "zh word", "ru phrase", "zh phrase", "identifier")
TYPES = (*TARGETED, "boolean", "filtered")
_STOP_EN = {"that", "this", "with", "from", "have", "will", "shall", "been", "were", "which", "such", "into"}
_RU_WORD = re.compile(r"[А-Яа-яЁё]{4,}")
_RU_PHRASE = re.compile(r"(?<![А-Яа-яЁё])([А-Яа-яЁё]{3,} [А-Яа-яЁё]{3,}(?: [А-Яа-яЁё]{3,})?)(?![А-Яа-яЁё])")
_EN_WORD = re.compile(r"\b[A-Za-z]{4,}\b")
_HAN_RUN = re.compile(r"[\u4e00-\u9fff]+")


@dataclass(frozen=True)
class Query:
    kind: str
    text: str
    language: str | None = None
    collection: str | None = None


class _Words:
    """One language's words: half the draws by frequency, half uniform over distinct words."""

    def __init__(self, tokens: list[str], rng: random.Random) -> None:
        self.tokens = tokens
        self.distinct = sorted(set(tokens))
        self.rng = rng

    def draw(self) -> str:
        return self.rng.choice(self.tokens if self.rng.random() < 0.5 else self.distinct)


def _chinese(corpus: Corpus) -> tuple[list[str], list[str]]:
    words, phrases = [], []
    for paragraph in corpus.pools["zh"]:
        for run in _HAN_RUN.findall(paragraph):
            cut = [word for word in rjieba.cut(run)]
            words.extend(word for word in cut if len(word) >= 2)
            phrases.extend(cut[i] + cut[i + 1] for i in range(len(cut) - 1)
                           if len(cut[i]) >= 2 and len(cut[i + 1]) >= 2)
    return words, phrases


def query_sets(corpus: Corpus, samples: dict[str, list[str]], per_type: int, seed: int) -> dict[str, list[Query]]:
    rng = random.Random(seed)
    ru = _Words([w.lower() for p in corpus.pools["ru"] for w in _RU_WORD.findall(p)], rng)
    en = _Words([w.lower() for p in corpus.pools["en"] for w in _EN_WORD.findall(p) if w.lower() not in _STOP_EN], rng)
    zh_words, zh_phrases = _chinese(corpus)
    zh = _Words(zh_words, rng)
    ru_phrases = [m.lower() for p in corpus.pools["ru"] for m in _RU_PHRASE.findall(p)]
    records = [s for s in samples["record"] if "#" not in s]
    eais = [s for s in samples["record"] if "#" in s]
    identifier_pools = [pool for pool in (records, eais, samples["case"], samples["domain"], samples["ip"]) if pool]

    def identifier() -> str:
        return rng.choice(rng.choice(identifier_pools))

    def word() -> str:
        return rng.choice([ru.draw, ru.draw, zh.draw, en.draw])()

    ru_collections = ["rkn-notices", "rkn-mail", "ru-courts", "ru-laws"]
    makers: dict[str, Callable[[], Query]] = {
        "ru term": lambda: Query("ru term", ru.draw()),
        "en term": lambda: Query("en term", en.draw()),
        "zh word": lambda: Query("zh word", zh.draw()),
        "ru phrase": lambda: Query("ru phrase", f'"{rng.choice(ru_phrases)}"'),
        "zh phrase": lambda: Query("zh phrase", f'"{rng.choice(zh_phrases)}"'),
        "identifier": lambda: Query("identifier", identifier()),
        "boolean": lambda: Query("boolean", rng.choice([
            lambda: f"{ru.draw()} AND {ru.draw()}", lambda: f"{word()} OR {word()}",
            lambda: f"{ru.draw()} NOT {ru.draw()}", lambda: f"({zh.draw()} OR {zh.draw()}) NOT {zh.draw()}",
            lambda: f"{identifier()} OR {identifier()}", lambda: f"{ru.draw()} {identifier()}",
        ])()),
        "filtered": lambda: rng.choice([
            lambda: Query("filtered", ru.draw(), collection=rng.choice(ru_collections)),
            lambda: Query("filtered", zh.draw(), language="zh"),
            lambda: Query("filtered", en.draw(), language="en"),
            lambda: Query("filtered", f'"{rng.choice(ru_phrases)}"', collection="rkn-notices"),
        ])(),
    }
    return {kind: [makers[kind]() for _ in range(per_type)] for kind in TYPES}


class Timer:
    """The three ways of running a query (see the module's docstring), on one open index."""

    def __init__(self, index: ArchiveIndex) -> None:
        self.index = index

    def full(self, query: Query) -> int:
        return self.index.search(query.text, language=query.language, collection=query.collection, limit=LIMIT).total

    def _engine(self, query: Query) -> tuple[tantivy.Searcher, tantivy.SearchResult]:
        index = self.index
        node = parse_query(query.text)
        assert node is not None
        matched, _ = build_query(index.schema, node)
        # ArchiveIndex's own filters (a private method: the bench must build the query exactly as search does).
        filters = index._filters(query.language, query.collection, None, None, None, False)
        searcher = index._index.searcher()
        combined = tantivy.Query.boolean_query([(tantivy.Occur.Must, matched), *filters])
        return searcher, searcher.search(combined, limit=LIMIT, count=True)

    def engine(self, query: Query) -> int:
        return int(self._engine(query)[1].count)  # type: ignore[attr-defined]

    def docs(self, query: Query) -> int:
        searcher, result = self._engine(query)
        for _, address in result.hits:
            bytes(searcher.doc(address).get_first(BODY) or b"").decode("utf-8")
        return int(result.count)  # type: ignore[attr-defined]


def _ms(run: Callable[[Query], int], query: Query) -> tuple[float, float, int]:
    """Wall and CPU milliseconds: on a machine shared with other jobs a query's wall time
    includes waiting for a core, its CPU time does not."""
    started, cpu = time.perf_counter(), time.process_time()
    total = run(query)
    return (time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000, total


def percentile(values: list[float], share: float) -> float:
    """Nearest rank: the value below which `share` of the values lie."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def _summary(values: list[float]) -> dict[str, float]:
    return {"p50": percentile(values, 0.50), "p95": percentile(values, 0.95), "p99": percentile(values, 0.99),
            "max": max(values), "mean": sum(values) / len(values)}


def measure(index: ArchiveIndex, sets: dict[str, list[Query]], ways: tuple[str, ...]) -> dict[str, object]:
    timer = Timer(index)
    warm = [query for queries in sets.values() for query in queries[:10]]
    for query in warm:  # the first searches pay for opening segments: not what a user waits for
        timer.full(query)
    results: dict[str, object] = {}
    for kind, queries in sets.items():
        times: dict[str, list[float]] = {way: [] for way in (*ways, "full_cpu")}
        matches: list[int] = []
        for query in queries:
            for way in ways:
                elapsed, cpu, total = _ms(getattr(timer, way), query)
                times[way].append(elapsed)
                if way == "full":
                    times["full_cpu"].append(cpu)
            matches.append(total)
        ordered = sorted(matches)
        results[kind] = {
            "queries": len(queries), **{way: _summary(values) for way, values in times.items()},
            "matches_median": ordered[len(ordered) // 2], "matches_max": ordered[-1],
            "no_match": sum(1 for m in matches if m == 0),
        }
    return results


def profile(index: ArchiveIndex, queries: list[Query]) -> dict[str, object]:
    """Where a type's full searches spend their time: the top functions, and each file's share."""
    timer = Timer(index)
    profiler = cProfile.Profile()
    profiler.enable()
    for query in queries:
        timer.full(query)
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = max(float(stats.total_tt), 1e-9)  # type: ignore[attr-defined]
    by_file: Counter[str] = Counter()
    rows = []
    for (filename, line, function), (_, calls, own, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        where = "/".join(Path(filename).parts[-2:]) if filename != "~" else "builtins"
        by_file[where] += own
        rows.append((own, cumulative, calls, f"{where}:{line}({function})"))
    rows.sort(reverse=True)
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(r"archive|tantivy", 25)
    return {
        "seconds": total, "queries": len(queries),
        "top_own": [{"function": name, "own_s": own, "cumulative_s": cum, "calls": calls}
                    for own, cum, calls, name in rows[:15]],
        "by_file_share": {name: round(own / total, 3) for name, own in by_file.most_common(12)},
        "cumulative": text.getvalue(),
    }


_STAGES = ("reload", "parse + build", "engine search + count", "stored docs + decode", "snippet: SnippetMaker",
           "snippet: _matches (regex + analyser)", "snippet: _best_window + _window", "snippet: _collapse")


def stages(index: ArchiveIndex, queries: list[Query]) -> dict[str, float]:
    """ArchiveIndex.search replayed step by step (the same calls, in its order) with a clock
    around each: shares without cProfile's cost per Python call, which inflates the snippet
    code's loops. CPU seconds per stage over all `queries` (CPU, not wall: other jobs on the
    machine would otherwise add their share to whichever stage they interrupted)."""
    spent = dict.fromkeys(_STAGES, 0.0)

    def lap(stage: str, since: float) -> float:
        now = time.process_time()
        spent[stage] += now - since
        return now

    for query in queries:
        clock = time.process_time()
        index._index.reload()
        clock = lap("reload", clock)
        node = parse_query(query.text)
        assert node is not None
        matched, highlights = build_query(index.schema, node)
        filters = index._filters(query.language, query.collection, None, None, None, False)
        combined = tantivy.Query.boolean_query([(tantivy.Occur.Must, matched), *filters])
        clock = lap("parse + build", clock)
        searcher = index._index.searcher()
        result = searcher.search(combined, limit=LIMIT, count=True)
        clock = lap("engine search + count", clock)
        bodies = [bytes(searcher.doc(address).get_first(BODY) or b"").decode("utf-8") for _, address in result.hits]
        clock = lap("stored docs + decode", clock)
        maker = SnippetMaker(highlights)
        clock = lap("snippet: SnippetMaker", clock)
        for body in bodies:
            scanned = body[:_SCAN_CHARS]
            matches = maker._matches(scanned)
            clock = lap("snippet: _matches (regex + analyser)", clock)
            if not matches:
                _collapse(scanned[: MAX_CHARS * 2], [])
                clock = lap("snippet: _collapse", clock)
                continue
            start, end = _window(scanned, *_best_window(matches, MAX_CHARS), MAX_CHARS)
            clock = lap("snippet: _best_window + _window", clock)
            _collapse(scanned[start:end], [(s - start, e - start) for s, e, _ in matches if s >= start and e <= end])
            clock = lap("snippet: _collapse", clock)
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--queries", type=int, default=250)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", choices=("auto", "all", "never"), default="auto")
    args = parser.parse_args()
    build = orjson.loads((args.work / "build.json").read_bytes())
    sets = query_sets(load_corpus(), build["samples"], args.queries, args.seed)
    result: dict[str, object] = {"queries_per_type": args.queries, "examples": {
        kind: [q.text + (f" [collection={q.collection}]" if q.collection else "")
               + (f" [language={q.language}]" if q.language else "") for q in queries[:4]]
        for kind, queries in sets.items()}}
    with ArchiveIndex(args.work / "index") as index:
        result["documents"] = index.count()
        result["big"] = measure(index, sets, ("full", "engine", "docs"))
        big = result["big"]
        assert isinstance(big, dict)
        slow = [kind for kind in TYPES if args.profile == "all"
                or (args.profile == "auto" and big[kind]["full"]["p99"] > TARGET_MS)]
        result["profiles"] = {kind: profile(index, sets[kind]) for kind in slow}
        result["stages"] = {kind: stages(index, queries) for kind, queries in sets.items()}
    small = args.work / "index-small"
    if small.is_dir():
        with ArchiveIndex(small) as index:
            result["small_documents"] = index.count()
            result["small"] = measure(index, sets, ("full", "engine"))
    result["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    (args.work / "queries.json").write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
