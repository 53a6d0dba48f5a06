"""The register end to end through the CLI on DuckDB files: ingest (idempotent, split snapshots,
--replace, broken files), look-ups (URL, domain, wildcard, IP, subnet, IDN, by date), diffs, and
a killed ingest leaving the store as it was."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from censorwatch.cli.main import app
from censorwatch.sources.registry_ingest import ingest_files
from censorwatch.store import Store
from censorwatch.store.registry import RegistryStore

pytestmark = pytest.mark.integration

WEEK1 = [
    "1.1.1.1 | 1.1.1.2;blocked.example;http://blocked.example/page;суд;2-1/2016;2016-01-01",
    "2.2.2.2;*.casino.example;;ФНС;2-6-27/1;2016-02-02",
    "3.3.3.3;;;Генпрокуратура;27-31-2015/Ид1;2015-12-04",
    "5.6.7.0/24;;;МВД;2019-1;2019-09-04",
    "4.4.4.4;пример.рф;http://пример.рф/;суд;2-518/2016;2016-03-01",
    "9.9.9.9;gone.example;;суд;2-9/2016;2016-01-09",
]
WEEK2 = [
    "1.1.1.1 | 1.1.1.2 | 1.1.1.3;blocked.example;http://blocked.example/page;суд;2-1/2016;2016-01-01",
    "2.2.2.2;*.casino.example;;ФНС;2-6-27/1;2016-02-02",
    "3.3.3.3;;;Генпрокуратура;27-31-2015/Ид1;2015-12-04",
    "5.6.7.0/24;;;МВД;2019-1;2019-09-04",
    "4.4.4.4;пример.рф;http://пример.рф/;суд;2-518/2016;2016-03-01",
    "8.8.4.4;new.example;http://new.example/a;ФНС;2-6-27/2;2016-06-10",
]


def write_dump(path: Path, updated: str, lines: list[str]) -> Path:
    path.write_bytes(("\n".join([f"Updated: {updated} +0000", *lines]) + "\n").encode("cp1251"))
    return path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def two_weeks(tmp_path: Path) -> Path:
    db = tmp_path / "r.duckdb"
    first = write_dump(tmp_path / "w1.csv", "2016-06-06 19:00:02", WEEK1)
    second = write_dump(tmp_path / "w2.csv", "2016-06-13 12:04:00", WEEK2)
    code, _, err = run("ingest", "registry-ru", str(first), str(second), "--db", str(db))
    assert code == 0, err
    return db


def lookup(db: Path, *args: str) -> dict[str, object]:
    code, out, err = run("registry", "lookup", *args, "--format", "json", "--db", str(db))
    assert code == 0, err
    result: dict[str, object] = json.loads(out)
    return result


def entries_of(db: Path, *args: str) -> list[dict[str, object]]:
    found = lookup(db, *args)["entries"]
    assert isinstance(found, list)
    return found


def test_ingest_reports_snapshots_and_is_idempotent(two_weeks: Path, tmp_path: Path) -> None:
    code, _, err = run("ingest", "registry-ru", str(tmp_path / "w1.csv"), "--db", str(two_weeks))
    assert code == 0
    assert "dump snapshot 2016-06-06: 6 entries read, 0 new in this snapshot (6 in all)" in err
    code, out, _ = run("registry", "snapshots", "--format", "json", "--db", str(two_weeks))
    rows = json.loads(out)
    assert [(r["snapshot_date"], r["entries"]) for r in rows] == [("2016-06-06", 6), ("2016-06-13", 6)]


def test_lookup_url_domain_and_idn(two_weeks: Path) -> None:
    (url_entry,) = entries_of(two_weeks, "HTTP://Blocked.Example/page#top")
    assert url_entry["match"] == "url"
    assert url_entry["ips"] == ["1.1.1.1", "1.1.1.2", "1.1.1.3"]
    order = (url_entry["authority"], url_entry["decision"], url_entry["decision_date"])
    assert order == ("суд", "2-1/2016", "2016-01-01")
    assert (url_entry["first_seen"], url_entry["last_seen"]) == ("2016-06-06", "2016-06-13")
    (domain_entry,) = entries_of(two_weeks, "blocked.example")
    assert domain_entry["match"] == "domain"
    for form in ("пример.рф", "xn--e1afmkfd.xn--p1ai", "http://ПРИМЕР.рф/"):
        (idn,) = entries_of(two_weeks, form)
        assert idn["domains_unicode"] == ["пример.рф"] and idn["decision"] == "2-518/2016"


def test_lookup_wildcards_cover_subdomains_and_the_base(two_weeks: Path) -> None:
    for target in ("casino.example", "www.casino.example", "https://a.b.casino.example/x"):
        (entry,) = entries_of(two_weeks, target)
        assert entry["match"] == "wildcard" and entry["authority"] == "ФНС"
    assert entries_of(two_weeks, "notcasino.example") == []


def test_lookup_ip_and_subnet(two_weeks: Path) -> None:
    (ip_entry,) = entries_of(two_weeks, "3.3.3.3")
    assert ip_entry["match"] == "ip" and ip_entry["decision"] == "27-31-2015/Ид1"
    (subnet_entry,) = entries_of(two_weeks, "5.6.7.200")
    assert subnet_entry["match"] == "subnet" and subnet_entry["subnets"] == ["5.6.7.0/24"]
    assert entries_of(two_weeks, "5.6.8.1") == []


def test_lookup_by_date_and_history(two_weeks: Path) -> None:
    assert entries_of(two_weeks, "gone.example") == []
    (old,) = entries_of(two_weeks, "gone.example", "--date", "2016-06-10")
    assert old["snapshot"] == "2016-06-06" and old["last_seen"] == "2016-06-06"
    (history,) = entries_of(two_weeks, "gone.example", "--history")
    assert history["snapshot"] is None
    assert entries_of(two_weeks, "new.example", "--date", "2016-06-07") == []
    assert lookup(two_weeks, "new.example", "--date", "2016-01-01")["snapshot"] is None


def test_lookup_of_nonsense_is_a_clear_error(two_weeks: Path) -> None:
    code, _, err = run("registry", "lookup", "not a target at all", "--db", str(two_weeks))
    assert code == 2 and "cannot look up" in err


def test_diff_added_removed_changed(two_weeks: Path) -> None:
    code, out, err = run("registry", "diff", "--format", "json", "--db", str(two_weeks))
    assert code == 0, err
    diff = json.loads(out)
    assert (diff["from"], diff["to"]) == ("2016-06-06", "2016-06-13")
    assert (diff["added"], diff["removed"], diff["changed"]) == (1, 1, 1)
    (added,) = diff["entries"]["added"]
    assert added["domains"] == ["new.example"] and added["first_seen"] == "2016-06-13"
    (removed,) = diff["entries"]["removed"]
    assert removed["domains"] == ["gone.example"] and removed["last_seen"] == "2016-06-06"
    (changed,) = diff["entries"]["changed"]
    assert changed["addresses_added"] == ["1.1.1.3"] and changed["addresses_removed"] == []
    groups = {(g["authority"], g["decision"]): g for g in diff["groups"]}
    assert groups[("суд", "2-9/2016")]["removed"] == 1
    assert groups[("ФНС", "2-6-27/2")]["added"] == 1
    code, out, _ = run("registry", "diff", "--db", str(two_weeks))
    assert code == 0 and "1 added, 1 removed, 1 changed" in out


def test_diff_needs_two_snapshots(tmp_path: Path) -> None:
    db = tmp_path / "one.duckdb"
    run("ingest", "registry-ru", str(write_dump(tmp_path / "w1.csv", "2016-06-06 19:00:02", WEEK1)), "--db", str(db))
    code, _, err = run("registry", "diff", "--db", str(db))
    assert code == 2 and "two dump snapshots" in err


def test_snapshot_split_over_dump_files_in_two_runs_and_replace(tmp_path: Path) -> None:
    db = tmp_path / "split.duckdb"
    part1 = write_dump(tmp_path / "dump-01.csv", "2023-10-01 09:00:00", WEEK1[:3])
    part2 = write_dump(tmp_path / "dump-02.csv", "2023-10-01 09:00:00", WEEK1[3:])
    assert run("ingest", "registry-ru", str(part1), "--db", str(db))[0] == 0
    code, _, err = run("ingest", "registry-ru", str(part2), "--db", str(db))
    assert code == 0 and "3 new in this snapshot (6 in all)" in err
    code, _, err = run("ingest", "registry-ru", str(part1), "--replace", "--db", str(db))
    assert code == 0 and "(3 in all)" in err
    code, out, _ = run("registry", "snapshots", "--format", "json", "--db", str(db))
    (row,) = json.loads(out)
    assert row["entries"] == 3 and row["files"] == "dump-01.csv"


def test_broken_lines_are_counted_and_files_without_a_date_refused(tmp_path: Path) -> None:
    db = tmp_path / "b.duckdb"
    dump = write_dump(tmp_path / "dump.csv", "2016-06-06 19:00:02", [*WEEK1, "garbage", "1.2.3.999;;;a;b;2016-01-01"])
    undated = tmp_path / "dump-17.csv"
    undated.write_bytes(WEEK2[0].encode("cp1251") + b"\n")
    code, _, err = run("ingest", "registry-ru", str(dump), str(undated), "--db", str(db))
    assert code == 0
    assert "6 entries read" in err and "skipped 2 broken lines" in err
    assert "dump-17.csv: no `Updated:` line" in err
    code, _, err = run("ingest", "registry-ru", str(undated), "--snapshot-date", "2023-10-01", "--db", str(db))
    assert code == 0 and "dump snapshot 2023-10-01: 1 entries read" in err


def test_a_file_that_is_not_a_dump_stores_nothing(tmp_path: Path) -> None:
    db = tmp_path / "n.duckdb"
    noise = tmp_path / "noise.csv"
    noise.write_bytes(b"Updated: 2016-06-06 19:00:02 +0000\n" + bytes(range(256)) * 40)
    code, _, err = run("ingest", "registry-ru", str(noise), "--db", str(db))
    assert code == 1 and "no register entry could be read" in err
    with Store(db, read_only=True) as store:
        assert not RegistryStore(store.con).has_data()


def test_interrupted_ingest_leaves_the_previous_state(two_weeks: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception after some batches are in: no new snapshot, nothing new found by look-ups."""
    from censorwatch.sources import registry_ingest
    from censorwatch.store import registry_writer

    extra = [f"7.7.{i // 250}.{i % 250};;;суд;x-{i};2016-06-19" for i in range(200)]
    big = write_dump(tmp_path / "w3.csv", "2016-06-20 10:00:00", [*WEEK2, *extra])

    class Killed(BaseException):
        pass

    planned = registry_ingest.plan(big, None)
    original = planned.reader.entries

    def entries():  # type: ignore[no-untyped-def]
        for number, entry in enumerate(original()):
            if number == 150:
                raise Killed
            yield entry

    monkeypatch.setattr(planned.reader, "entries", entries)
    monkeypatch.setattr(registry_ingest, "plan", lambda path, forced: planned)
    monkeypatch.setattr(registry_writer, "BATCH", 50)
    with Store(two_weeks) as store:
        with pytest.raises(Killed):
            ingest_files(store.con, [big], None, False)
        registry = RegistryStore(store.con)
        assert [d.isoformat() for d in registry.snapshots()] == ["2016-06-06", "2016-06-13"]
        orphans = store.con.execute("SELECT count(*) FROM registry_entries").fetchall()[0][0]
        assert orphans > 8  # batches of contents were committed...
        assert registry.lookup("7.7.0.1", history=True) == []  # ...but no snapshot refers to them
    monkeypatch.undo()
    code, out, _ = run("registry", "diff", "--format", "json", "--db", str(two_weeks))
    assert code == 0 and json.loads(out)["added"] == 1
    code, _, err = run("ingest", "registry-ru", str(big), "--db", str(two_weeks))
    assert code == 0 and "206 entries read" in err
    assert entries_of(two_weeks, "7.7.0.1")[0]["first_seen"] == "2016-06-20"


def test_kill_9_during_ingest(two_weeks: Path, tmp_path: Path) -> None:
    """A real ingest process killed with SIGKILL mid-snapshot: the store opens, holds the two
    snapshots it had, and the same ingest run again completes."""
    lines = [f"10.{i // 62500}.{(i // 250) % 250}.{i % 250};site{i}.example;http://site{i}.example/p;суд;k-{i};2016-06-19"
             for i in range(60_000)]
    big = write_dump(tmp_path / "big.csv", "2016-06-20 10:00:00", lines)
    child = subprocess.Popen([sys.executable, "-m", "censorwatch", "ingest", "registry-ru", str(big), "--db",
                              str(two_weeks)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(3.0)
    finished_already = child.poll() is not None
    child.kill()
    child.wait(timeout=30)
    with Store(two_weeks, read_only=True) as store:
        snapshots = [d.isoformat() for d in RegistryStore(store.con).snapshots()]
    if not finished_already:
        assert snapshots == ["2016-06-06", "2016-06-13"]
    code, _, err = run("ingest", "registry-ru", str(big), "--db", str(two_weeks))
    assert code == 0 and "60000 entries read" in err
    assert entries_of(two_weeks, "site59999.example")[0]["decision"] == "k-59999"


def test_nxdomain_and_xml_snapshots(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    nx = tmp_path / "nxdomain.txt"
    nx.write_text("dead.example\nпример.рф\n")
    xml = tmp_path / "dump.xml"
    xml.write_bytes(
        '<?xml version="1.0" encoding="windows-1251"?>\n'
        '<reg:register updateTime="2020-02-16T12:00:00+03:00" xmlns:reg="http://rsoc.ru">'
        '<content id="5" includeTime="2020-01-01T10:00:00" blockType="domain">'
        '<decision date="2020-01-01" number="7-1" org="Роскомнадзор"/><domain>dead.example</domain></content>'
        "</reg:register>".encode("cp1251")
    )
    code, _, err = run("ingest", "registry-ru", str(nx), "--snapshot-date", "2020-02-16", "--db", str(db))
    assert code == 0, err
    code, _, err = run("ingest", "registry-ru", str(xml), "--db", str(db))
    assert code == 0 and "dump snapshot 2020-02-16: 1 entries read" in err
    found = entries_of(db, "dead.example")
    assert {(e["list_name"], e["match"]) for e in found} == {("dump", "domain"), ("nxdomain", "domain")}
    (xml_entry,) = [e for e in found if e["list_name"] == "dump"]
    assert xml_entry["content_id"] == 5 and xml_entry["block_type"] == "domain"
    assert xml_entry["include_time"] == "2020-01-01T07:00:00"
    code, _, err = run("ingest", "registry-ru", str(tmp_path / "nxdomain.txt"), "--db", str(db))
    assert code == 1 and "give --snapshot-date" in err


def test_read_only_store_without_register_tables(tmp_path: Path) -> None:
    db = tmp_path / "empty.duckdb"
    Store(db).close()
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert not RegistryStore(con).has_data()
    finally:
        con.close()
    code, _, err = run("registry", "lookup", "example.com", "--db", str(db))
    assert code == 2 and "no register data" in err
