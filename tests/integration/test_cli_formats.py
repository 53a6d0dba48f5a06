"""`--format json|csv` of the commands that print tables, on DuckDB stores in a tmp dir, and the
real console script printing a table with long cells to a pipe: one line per row, not wrapped."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from censorwatch.services.test_helper import BackgroundTestHelper, HelperConfig
from censorwatch.store import Store
from tests.integration.hostile_servers import Servers, ok
from tests.integration.test_registry_cli import WEEK1, WEEK2, run, write_dump
from tests.integration.test_registry_compliance import MARCH_1, MARCH_10, MEASUREMENTS
from tests.unit.test_aggregates import stored

pytestmark = pytest.mark.integration

CONSOLE_SCRIPT = Path(sys.executable).parent / "censorwatch"
LONG_DOMAIN = ".".join(["a-rather-long-label-of-a-mirror-site"] * 4) + ".example"
LONG_URL = f"http://{LONG_DOMAIN}/" + "section/" * 25 + "page?query=" + "x" * 60
LONG_ENTRY = f"6.6.6.6 | 6.6.6.7 | 6.6.6.8;{LONG_DOMAIN};{LONG_URL};суд;2-777/2016;2016-05-05"


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def ok_run(*args: str) -> str:
    code, out, err = run(*args)
    assert code == 0, err
    return out


@pytest.fixture
def register(tmp_path: Path) -> Path:
    db = tmp_path / "r.duckdb"
    first = write_dump(tmp_path / "dump-01.csv", "2016-06-06 19:00:02", WEEK1)
    second = write_dump(tmp_path / "w2.csv", "2016-06-13 12:04:00", [*WEEK2, LONG_ENTRY])
    ok_run("ingest", "registry-ru", str(first), "--db", str(db))
    extra = write_dump(tmp_path / "dump-02.csv", "2016-06-06 19:00:02", ["7.7.7.7;extra.example;;суд;x-1;2016-01-01"])
    ok_run("ingest", "registry-ru", str(extra), "--db", str(db))
    ok_run("ingest", "registry-ru", str(second), "--db", str(db))
    return db


def test_registry_snapshots_json_and_csv(register: Path) -> None:
    rows = json.loads(ok_run("registry", "snapshots", "--format", "json", "--db", str(register)))
    assert [(r["snapshot_date"], r["entries"]) for r in rows] == [("2016-06-06", 7), ("2016-06-13", 7)]
    assert rows[0]["files"] == "dump-01.csv\ndump-02.csv"  # as the JSON always gave it
    table = csv_rows(ok_run("registry", "snapshots", "--format", "csv", "--db", str(register)))
    assert list(table[0]) == ["list_name", "snapshot_date", "updated", "entries", "skipped", "files"]
    assert [(r["list_name"], r["snapshot_date"], r["entries"], r["files"]) for r in table] == [
        ("dump", "2016-06-06", "7", "dump-01.csv;dump-02.csv"),
        ("dump", "2016-06-13", "7", "w2.csv"),
    ]
    assert table[0]["updated"] == "2016-06-06 19:00:02"


def test_registry_lookup_csv(register: Path) -> None:
    out = ok_run("registry", "lookup", "blocked.example", "--format", "csv", "--db", str(register))
    (row,) = csv_rows(out)
    assert out.splitlines()[0].split(",")[:4] == ["match", "list_name", "authority", "decision"]
    assert (row["match"], row["authority"], row["decision"], row["decision_date"]) == (
        "domain", "суд", "2-1/2016", "2016-01-01")
    assert row["ips"] == "1.1.1.1;1.1.1.2;1.1.1.3" and row["urls"] == "http://blocked.example/page"
    assert (row["snapshot"], row["first_seen"], row["last_seen"]) == ("2016-06-13", "2016-06-06", "2016-06-13")
    assert row["content_id"] == "" and row["subnets"] == ""
    nothing = ok_run("registry", "lookup", "absent.example", "--format", "csv", "--db", str(register))
    assert csv_rows(nothing) == [] and nothing.startswith("match,")


def test_registry_diff_has_no_csv(register: Path) -> None:
    code, out, err = run("registry", "diff", "--format", "csv", "--db", str(register))
    assert code == 2 and out == "" and "--format must be one of table, json" in err


@pytest.fixture
def compliance_store(tmp_path: Path) -> Path:
    path = tmp_path / "c.duckdb"
    rows = [(uid, "IR" if asn == "AS9" else "RU", asn, url, "web_connectivity", when, verdict,
             None if verdict in ("ok", "failure") else "dns") for uid, asn, url, when, verdict in MEASUREMENTS]
    with Store(path) as store:
        store.add(map(stored, rows))
    for name, day, lines in (("a.csv", "2024-03-01", MARCH_1), ("b.csv", "2024-03-10", MARCH_10)):
        dump = write_dump(tmp_path / name, f"{day} 06:00:00", lines)
        ok_run("ingest", "registry-ru", str(dump), "--db", str(path))
    return path


def test_registry_compliance_csv_and_json(compliance_store: Path) -> None:
    args = ("registry", "compliance", "--country", "RU", "--db", str(compliance_store))
    code, out, err = run(*args, "--format", "csv")
    assert code == 0, err
    rows = {(r["probe_asn"], r["snapshot"]): r for r in csv_rows(out)}
    assert set(rows) == {("AS1", "2024-03-01"), ("AS1", "2024-03-10"), ("AS2", "2024-03-01")}
    first = rows[("AS1", "2024-03-01")]
    assert (first["targets"], first["measurements"], first["registered_blocked"]) == ("7", "8", "2")
    assert sorted(first["examples_registered_blocked"].split(";")) == [
        "http://pages.example/one", "https://blocked.example/"]
    assert first["examples_registered_reachable"] == "https://www.wild.example/"
    assert rows[("AS2", "2024-03-01")]["registered_blocked_share"] == "0.0"
    assert "predate the first register snapshot" in err  # CSV has no place for it: stderr says it
    report = json.loads(ok_run(*args, "--format", "json"))
    assert {(n["probe_asn"], n["snapshot"]) for n in report["networks"]} == set(rows)
    assert report["country"] == "RU" and report["measurements_before_first_snapshot"] == 1


def test_probe_summary_json_and_csv(tmp_path: Path) -> None:
    with Servers({"ok": ok}) as servers, BackgroundTestHelper(
        HelperConfig(http_timeout=3, connect_timeout=2, loopback_only=True)
    ) as helper:
        urls = [f"{servers.url('ok')}/{i}" for i in range(3)]
        common = ("--test-helper", helper.url, "--timeout", "3")
        code, out, err = run("probe", *urls, *common, "--db", str(tmp_path / "a.duckdb"), "--format", "json")
        assert code == 0, err
        rows = json.loads(out)
        code, out, err = run("probe", *urls, *common, "--db", str(tmp_path / "b.duckdb"), "--format", "csv")
        assert code == 0, err
        table = csv_rows(out)
    assert rows == [{"test": "web_connectivity", "verdict": "ok", "blocking": None, "count": 3}]
    assert table == [{"test": "web_connectivity", "verdict": "ok", "blocking": "", "count": "3"}]


@pytest.mark.skipif(not CONSOLE_SCRIPT.exists(), reason="the censorwatch console script is not installed here")
def test_a_table_on_a_pipe_keeps_each_row_on_one_line(register: Path) -> None:
    # COLUMNS as a terminal of 80 columns would set it: a pipe has no width, whatever it says.
    # capture_output: stdout is a pipe, as in `censorwatch registry lookup URL | less`.
    environment = {**os.environ, "COLUMNS": "80"}
    done = subprocess.run([str(CONSOLE_SCRIPT), "registry", "lookup", LONG_URL, "--db", str(register)],
                          capture_output=True, text=True, timeout=120, env=environment)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    (row,) = [line for line in lines if line.startswith("│")]  # wrapped, a row would take several lines
    for cell in (LONG_URL, LONG_DOMAIN, "2-777/2016", "6.6.6.6, 6.6.6.7, 6.6.6.8", "2016-06-13"):
        assert cell in row
    (header,) = [line for line in lines if line.startswith("┃")]
    assert "decision date" in header and "last seen" in header
    assert len(row) > 300
