"""Look-up targets drawn from the grown register, timed against RegistryStore.lookup (the name
index) and against a naive scan that parses every line of the snapshot's dump files.

The naive scan is one pass over the files for all its targets at once (each parsed entry is
checked against the targets through dicts): a scan for a single target parses the same lines,
so one pass's wall time is what each naive look-up costs; a few single-target scans are also
run for real to confirm it."""

from __future__ import annotations

import ipaddress
import random
import statistics
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import duckdb

from bench_registry_data import REMOVED, Plan, fate, render
from censorwatch.model.registry import (
    NormaliseError,
    RegistryEntry,
    canonical_url,
    normalise_address,
    normalise_domain,
    url_host,
)
from censorwatch.sources.registry_ru import decode_line, parse_dump_line
from censorwatch.store.registry import RegistryStore

# Share of each kind among the look-up targets.
MIX = {
    "domain": 0.22, "url": 0.22, "ip": 0.14, "ip-in-subnet": 0.08, "wildcard-sub": 0.10,
    "removed-domain": 0.04, "miss-domain": 0.07, "miss-url": 0.07, "miss-ip": 0.06,
}


@dataclass(frozen=True)
class Target:
    kind: str
    text: str


def _entries_at(plan: Plan, rng: random.Random, snapshot: str, draws: int) -> Iterator[RegistryEntry]:
    """Random entries of a snapshot, rebuilt from the plan (no need to read the files)."""
    for _ in range(draws):
        k = rng.randrange(plan.copies)
        index = rng.randrange(plan.count(snapshot, k))
        for line in plan.line_for(snapshot, k, index):
            try:
                yield parse_dump_line(line)
            except NormaliseError:
                continue


def _removed(plan: Plan, rng: random.Random, draws: int) -> Iterator[str]:
    """Domains of lines B dropped (its synthetic removals); other lines may still name them."""
    if plan.copies < 3:  # copy 0 is the real dump and the last copy may be partial
        return
    for _ in range(draws):
        k = rng.randrange(1, plan.copies - 1)
        seed = plan.seed("B", rng.randrange(len(plan.seeds_b)))
        if fate(seed, k) >= REMOVED:
            continue
        try:
            entry = parse_dump_line(render(seed, k, f"c{k}"))
        except NormaliseError:
            continue
        if entry.domains and not entry.domains[0].wildcard:
            yield entry.domains[0].unicode


def _pick(entries: Iterator[RegistryEntry], kind: str, n: int) -> list[Target]:
    out: list[Target] = []
    for entry in entries:
        if len(out) >= n:
            break
        plain = [d for d in entry.domains if not d.wildcard]
        wild = [d for d in entry.domains if d.wildcard]
        if kind == "domain" and plain:
            out.append(Target(kind, plain[0].unicode))
        elif kind == "url" and entry.urls:
            out.append(Target(kind, entry.urls[0]))
        elif kind == "ip" and entry.ips:
            out.append(Target(kind, entry.ips[-1]))
        elif kind == "ip-in-subnet" and entry.subnets:
            network = ipaddress.ip_network(entry.subnets[0])
            out.append(Target(kind, str(network.network_address + 77)))
        elif kind == "wildcard-sub" and wild:
            out.append(Target(kind, f"sub{len(out)}.{wild[0].unicode}"))
    return out


def choose_targets(plan: Plan, total: int, seed: int = 20160613) -> list[Target]:
    """`total` targets in the MIX proportions, in a shuffled order; found ones come from the
    latest snapshot (B), removed ones from A's lines that B dropped."""
    rng = random.Random(seed)
    targets: list[Target] = []
    for kind, share in MIX.items():
        n = max(1, round(total * share))
        if kind.startswith("miss-"):
            for i in range(n):
                text = {"miss-domain": f"miss-{i}.not-in-register.example",
                        "miss-url": f"http://miss-{i}.not-in-register.example/page?{i}",
                        "miss-ip": f"198.51.100.{i % 250 + 1}"}[kind]
                targets.append(Target(kind, text))
        elif kind == "removed-domain":
            # A small register may have none of a kind (no synthetic copy): draws are bounded.
            targets.extend(Target(kind, text) for text in islice(_removed(plan, rng, 2000 * n), n))
        else:
            targets.extend(_pick(_entries_at(plan, rng, "B", 2000 * n), kind, n))
    rng.shuffle(targets)
    return targets


@dataclass
class LookupRun:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    found: dict[str, int] = field(default_factory=dict)  # target text -> entries found
    seconds: dict[str, float] = field(default_factory=dict)  # target text -> its look-up's latency
    errors: Counter[str] = field(default_factory=Counter)


def time_lookups(db: Path, targets: list[Target]) -> LookupRun:
    """RegistryStore.lookup per target on a read-only connection, latest snapshot."""
    run = LookupRun()
    con = duckdb.connect(str(db), read_only=True)
    try:
        store = RegistryStore(con)
        store.lookup(targets[0].text)  # warm the catalogue; not timed
        for target in targets:
            started = time.perf_counter()
            try:
                entries = store.lookup(target.text)
            except ValueError as error:
                run.errors[f"{target.kind}: {error}"] += 1
                continue
            elapsed = time.perf_counter() - started
            run.latencies.setdefault(target.kind, []).append(elapsed)
            run.seconds[target.text] = elapsed
            run.found[target.text] = len(entries)
    finally:
        con.close()
    return run


# -- the naive scan -----------------------------------------------------------------------------
@dataclass
class Wanted:
    """Targets normalised once, in dicts keyed by what an entry's fields are compared with."""

    ips: dict[str, list[str]] = field(default_factory=dict)
    addresses: list[tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, str]] = field(default_factory=list)
    urls: dict[str, list[str]] = field(default_factory=dict)
    hosts: dict[str, list[str]] = field(default_factory=dict)  # domain targets: URLs on them match
    domains: dict[str, list[str]] = field(default_factory=dict)  # domain targets and URL targets' hosts
    parents: dict[str, list[str]] = field(default_factory=dict)  # wildcard bases covering a target


def _parents(host: str) -> list[str]:
    labels = host.split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]


def wanted(targets: list[Target]) -> Wanted:
    w = Wanted()
    for target in targets:
        text = target.text
        try:
            address = normalise_address(text)
            w.ips.setdefault(str(address), []).append(text)
            w.addresses.append((address, text))
            continue
        except NormaliseError:
            pass
        if "/" in text:
            url = canonical_url(text)
            host = url_host(url) or ""
            w.urls.setdefault(url, []).append(text)
        else:
            host = normalise_domain(text).ascii
            w.hosts.setdefault(host, []).append(text)
        w.domains.setdefault(host, []).append(text)
        for parent in _parents(host):
            w.parents.setdefault(parent, []).append(text)
    return w


def matches(entry: RegistryEntry, w: Wanted) -> set[str]:
    """Targets this entry names: an equal IP or a subnet holding it, an equal canonical URL, a
    domain equal to the target's (or its URL's) host, a wildcard over it, or (for a domain
    target) a URL on that domain."""
    hit: set[str] = set()
    for ip in entry.ips:
        hit.update(w.ips.get(ip, ()))
    for subnet in entry.subnets:
        network = ipaddress.ip_network(subnet)
        hit.update(text for address, text in w.addresses if address in network)
    for url in entry.urls:
        hit.update(w.urls.get(url, ()))
        hit.update(w.hosts.get(url_host(url) or "", ()))
    for domain in entry.domains:
        hit.update((w.parents if domain.wildcard else w.domains).get(domain.ascii, ()))
    return hit


@dataclass
class ScanRun:
    seconds: float = 0.0
    lines: int = 0
    broken: int = 0
    found: dict[str, set[str]] = field(default_factory=dict)  # target -> digests of entries naming it


def naive_scan(files: list[Path], targets: list[Target]) -> ScanRun:
    """Parse every line of the files with parse_dump_line and check it against the targets."""
    w = wanted(targets)
    run = ScanRun(found={t.text: set() for t in targets})
    started = time.perf_counter()
    for path in files:
        with path.open("rb") as handle:
            for number, raw in enumerate(handle):
                line = decode_line(raw).rstrip("\r\n")
                if number == 0 and line.startswith("Updated:"):
                    continue
                run.lines += 1
                try:
                    entry = parse_dump_line(line)
                except NormaliseError:
                    run.broken += 1
                    continue
                for text in matches(entry, w):
                    run.found[text].add(entry.digest)
    run.seconds = time.perf_counter() - started
    return run


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def summary(values: list[float]) -> tuple[float, float, float]:
    """(look-ups per second, p50 ms, p99 ms)."""
    return len(values) / sum(values), statistics.median(values) * 1e3, percentile(values, 0.99) * 1e3
