"""A register grown from the real 2016 dumps: copy k of every real line gets fresh names (a
`c{k}.` label before its domain and its URL hosts) and fresh addresses (IPv4 octets shifted by
k), so copies never collide but keep the real shapes (IP lists, IDN names, long URLs, `;`
inside URLs, empty authority fields). Copy 0 is the real dump, verbatim.

Snapshot A replicates dump_2016-06-06.csv, snapshot B (a week later) dump_2016-06-13.csv, so the
real week's changes recur in every copy; B also drops about 1% of the synthetic lines, changes
an address in about 2% and adds about 1% with new names. The 2016 dumps have neither wildcard
domains nor subnets, which the modern register does: about 2% of synthetic domains become
`*.` wildcards and about 0.5% of synthetic lines gain a /24 subnet, so both paths are exercised.

Every line is a pure function of (snapshot, copy, seed line): `line_for` rebuilds any line for
choosing look-up targets, and the writer streams lines to `dump-NN.csv` files (windows-1251,
`Updated:` first line, like the modern z-i layout) without holding the snapshot in memory."""

from __future__ import annotations

import ipaddress
import math
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from censorwatch.sources.registry_ru import decode_line

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "registry-ru"
SEED_A = "dump_2016-06-06.csv"
SEED_B = "dump_2016-06-13.csv"
MODERN = "modern_format_excerpt_2023_dump-17_first29lines.cp1251.csv"
UPDATED = {"A": "Updated: 2016-06-06 19:00:02 +0000", "B": "Updated: 2016-06-13 12:04:00 +0000"}
WILDCARD_EVERY = 50  # of synthetic domains
SUBNET_EVERY = 200  # of synthetic lines with an address
REMOVED, CHANGED, ADDED = 10, 30, 40  # per mille thresholds in snapshot B: 1%, 2%, 1%


@dataclass(frozen=True)
class Seed:
    """One real line split where copies differ: the address field, and the rest with `\\x00`
    where a copy's label goes (before the domain and after each `://`)."""

    line: str
    ips: tuple[str, ...]
    wide: bool  # " | " between addresses (2016) rather than "|" (modern)
    rest: str
    wildcard: bool
    subnet: bool
    hash: int


def _seed(line: str) -> Seed:
    fields = line.split(";")
    ips = tuple(p.strip() for p in fields[0].split("|") if p.strip())
    domain = fields[1]
    wildcard = bool(domain) and zlib.crc32(domain.encode("utf-8")) % WILDCARD_EVERY == 0
    if domain:
        fields[1] = ("*." if wildcard else "") + "\x00" + domain
    urls = ";".join(fields[2:-3]).replace("://", "://\x00")
    rest = ";".join([fields[1], urls, *fields[-3:]])
    digest = zlib.crc32(line.encode("utf-8"))
    subnet = bool(ips) and ":" not in ips[0] and digest % SUBNET_EVERY == 1
    return Seed(line, ips, " | " in fields[0], rest, wildcard, subnet, digest)


def load_seeds(name: str) -> list[Seed]:
    """The real lines of one dump plus the modern excerpt (IPv6, `|` lists), header dropped."""
    seeds = []
    for path in (DATA / name, DATA / MODERN):
        with path.open("rb") as handle:
            for raw in handle:
                line = decode_line(raw).rstrip("\r\n")
                if line and not line.startswith("Updated:") and len(line.split(";")) >= 6:
                    seeds.append(_seed(line))
    return seeds


def shift_ip(text: str, k: int, bump: int = 0) -> str:
    """Copy k's address for a real one: IPv4 second and third octets shifted (distinct for
    k < 65536), IPv6 moved by k << 64; `bump` changes the last octet (an address change)."""
    try:
        if ":" in text:
            return str(ipaddress.IPv6Address((int(ipaddress.IPv6Address(text)) + (k << 64) + bump) % (1 << 128)))
        a, b, c, d = text.split(".")
        return f"{a}.{(int(b) + k) % 256}.{(int(c) + k // 256) % 256}.{(int(d) + bump) % 256}"
    except ValueError:  # not an address the register would accept either: keep it, broken as it is
        return text


def render(seed: Seed, k: int, label: str, bump: int = 0) -> str:
    """Copy k of a seed line under `label` (c{k} for the copy, n{k} for an added line)."""
    if k == 0 and label == "c0" and not bump:
        return seed.line
    ips = [shift_ip(ip, k, bump if i == 0 else 0) for i, ip in enumerate(seed.ips)]
    if seed.subnet:
        a, b, c, _ = ips[0].split(".")
        ips.append(f"{a}.{b}.{c}.0/24")
    return (" | " if seed.wide else "|").join(ips) + ";" + seed.rest.replace("\x00", label + ".")


def fate(seed: Seed, k: int) -> int:
    """Per mille draw deciding what snapshot B does with copy k of a seed line."""
    return (seed.hash + k * 7919) % 1000


def lines_b(seed: Seed, k: int) -> list[str]:
    """Snapshot B's lines for copy k of a seed line (copy 0 stays the real dump)."""
    if k == 0:
        return [seed.line]
    draw = fate(seed, k)
    if draw < REMOVED:
        return []
    if draw < CHANGED and seed.ips:
        return [render(seed, k, f"c{k}", bump=1)]
    if draw < ADDED:
        return [render(seed, k, f"c{k}"), render(seed, k, f"n{k}")]
    return [render(seed, k, f"c{k}")]


@dataclass
class Plan:
    """How many copies of each seed file make `entries` lines of snapshot A; B takes the same
    share of its own seed in the last, partial copy."""

    entries: int
    seeds_a: list[Seed]
    seeds_b: list[Seed]
    copies: int = 0
    tail_a: int = 0
    tail_b: int = 0

    def __post_init__(self) -> None:
        self.copies = math.ceil(self.entries / len(self.seeds_a))
        self.tail_a = self.entries - (self.copies - 1) * len(self.seeds_a)
        self.tail_b = round(self.tail_a / len(self.seeds_a) * len(self.seeds_b))

    def count(self, snapshot: str, k: int) -> int:
        seeds = self.seeds_a if snapshot == "A" else self.seeds_b
        last = self.tail_a if snapshot == "A" else self.tail_b
        return last if k == self.copies - 1 else len(seeds)

    def seed(self, snapshot: str, index: int) -> Seed:
        return (self.seeds_a if snapshot == "A" else self.seeds_b)[index]

    def line_for(self, snapshot: str, k: int, index: int) -> list[str]:
        seed = self.seed(snapshot, index)
        return [render(seed, k, f"c{k}")] if snapshot == "A" else lines_b(seed, k)

    def lines(self, snapshot: str) -> Iterator[str]:
        for k in range(self.copies):
            for index in range(self.count(snapshot, k)):
                yield from self.line_for(snapshot, k, index)


@dataclass
class Written:
    files: list[Path] = field(default_factory=list)
    lines: int = 0
    bytes: int = 0


def write_snapshot(plan: Plan, snapshot: str, directory: Path, per_file: int) -> Written:
    """Streams one snapshot into dump-00.csv, dump-01.csv, ... of `per_file` lines each."""
    directory.mkdir(parents=True, exist_ok=True)
    written = Written()
    handle = None
    try:
        for line in plan.lines(snapshot):
            if written.lines % per_file == 0:
                if handle is not None:
                    handle.close()
                path = directory / f"dump-{len(written.files):02d}.csv"
                written.files.append(path)
                handle = path.open("w", encoding="cp1251", errors="replace", newline="\n")
                handle.write(UPDATED[snapshot] + "\n")
            assert handle is not None
            handle.write(line + "\n")
            written.lines += 1
    finally:
        if handle is not None:
            handle.close()
    written.bytes = sum(path.stat().st_size for path in written.files)
    return written
