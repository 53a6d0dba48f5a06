"""The real register dumps in ../shared/data/registry-ru: the 2016 pair's diff checked against
an independent computation made here from the raw lines, the modern excerpt and nxdomain.txt."""

from __future__ import annotations

import html
import json
from pathlib import Path
from urllib.parse import unquote

import pytest

from censorwatch.sources.registry_ru import DumpCsv, NxdomainTxt
from tests.integration.test_registry_cli import run

pytestmark = pytest.mark.integration

Key = tuple[str, ...]


def independent_side(path: Path) -> dict[Key, set[str]]:
    """Entry key -> union of its addresses, straight from the text. The only normalisation is
    what makes two spellings of one URL one URL: HTML entities, percent escapes, the fragment."""
    out: dict[Key, set[str]] = {}
    with path.open(encoding="cp1251") as handle:
        for number, line in enumerate(handle):
            line = line.rstrip("\n")
            if number == 0 and line.startswith("Updated:"):
                continue
            fields = line.split(";")
            if len(fields) < 6:
                continue
            addresses = {part.strip() for part in fields[0].split("|") if part.strip()}
            url_field = ";".join(fields[2:-3]).strip().strip('"')
            urls = sorted(unquote(html.unescape(u.strip())).split("#")[0] for u in url_field.split(" | ") if u.strip())
            domain = fields[1].strip().lower()
            names = (domain, *urls) if domain or urls else ("ip", *sorted(addresses))
            key = (fields[-3].strip(), fields[-2].strip(), fields[-1].strip(), *names)
            out.setdefault(key, set()).update(addresses)
    return out


@pytest.fixture(scope="module")
def register_2016(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.conftest import SHARED_DATA

    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    db = tmp_path_factory.mktemp("reg") / "r.duckdb"
    folder = SHARED_DATA / "registry-ru"
    code, _, err = run("ingest", "registry-ru", str(folder / "dump_2016-06-06.csv"),
                       str(folder / "dump_2016-06-13.csv"), "--db", str(db))
    assert code == 0, err
    assert "no broken lines" in err
    return db


def test_2016_diff_equals_an_independent_computation(register_2016: Path, shared_data: Path) -> None:
    folder = shared_data / "registry-ru"
    before = independent_side(folder / "dump_2016-06-06.csv")
    after = independent_side(folder / "dump_2016-06-13.csv")
    added = after.keys() - before.keys()
    removed = before.keys() - after.keys()
    changed = {key for key in before.keys() & after.keys() if before[key] != after[key]}
    code, out, err = run("registry", "diff", "--format", "json", "--db", str(register_2016))
    assert code == 0, err
    diff = json.loads(out)
    assert (diff["from"], diff["to"]) == ("2016-06-06", "2016-06-13")
    assert (diff["added"], diff["removed"], diff["changed"]) == (len(added), len(removed), len(changed))
    assert len(diff["entries"]["added"]) == len(added)
    # The same orders, not only the same counts.
    ours = {(e["authority"] or "", e["decision"] or "", e["decision_date"] or "") for e in diff["entries"]["added"]}
    theirs = {key[:3] for key in added}
    assert ours == theirs
    new_addresses = sum(len(after[key] - before[key]) for key in changed)
    assert sum(len(e["addresses_added"]) for e in diff["entries"]["changed"]) == new_addresses
    by_group = sum(g["added"] + g["removed"] + g["changed"] for g in diff["groups"])
    assert by_group == len(added) + len(removed) + len(changed)


def test_2016_lookups(register_2016: Path) -> None:
    code, out, _ = run("registry", "lookup", "http://76автобар.рф/", "--format", "json", "--db", str(register_2016))
    assert code == 0
    found = {e["decision"]: e for e in json.loads(out)["entries"] if e["match"] == "url"}
    # Two court decisions name this page: one in Cyrillic, one already in punycode.
    assert set(found) == {"2-518/2016", "2-2277/2016"}
    assert found["2-518/2016"]["ips"] == ["31.220.20.115"]
    code, out, _ = run("registry", "lookup", "148.251.140.113", "--format", "json", "--db", str(register_2016))
    (ip_entry,) = json.loads(out)["entries"]
    assert ip_entry["authority"] == "ФНС" and len(ip_entry["ips"]) == 4


def test_modern_excerpt_every_line_reads(shared_data: Path) -> None:
    dump = DumpCsv(shared_data / "registry-ru" / "modern_format_excerpt_2023_dump-17_first29lines.cp1251.csv")
    assert dump.read_header() is None  # dump-17 is the 17th part: only the first part has the header
    entries = list(dump.entries())
    assert dump.stats.skipped_total == 0 and len(entries) == 29
    assert any(":" in ip for entry in entries for ip in entry.ips)
    empty_authority = [e for e in entries if e.authority is None]
    assert empty_authority and all(e.decision_date for e in empty_authority)


def test_nxdomain_real_file(shared_data: Path) -> None:
    reader = NxdomainTxt(shared_data / "registry-ru" / "nxdomain_2020-02-16.txt")
    count = sum(1 for _ in reader.entries())
    assert count + reader.stats.skipped_total == 37845
    assert reader.stats.skipped_total == 0
