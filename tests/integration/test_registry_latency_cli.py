"""`censorwatch registry latency`: the three formats, the note on the frozen register, and errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from censorwatch.cli.registry_latency_cmd import LATENCY_FIELDS
from censorwatch.store import Store
from tests.integration.test_registry_cli import run
from tests.unit.test_aggregates import stored

pytestmark = pytest.mark.integration

BEFORE = ["1.1.1.1;old.example;;суд;1/2024;2024-02-01"]
FINAL = [*BEFORE, "2.2.2.2;new.example;;суд;2/2024;2024-03-01"]
MEASUREMENTS = [
    ("o1", "AS1", "https://old.example/", "2024-02-27 10:00:00", "anomaly"),
    ("n0", "AS1", "https://new.example/", "2024-03-01 12:00:00", "ok"),
    ("n1", "AS1", "https://new.example/", "2024-03-04 18:00:00", "anomaly"),  # 0.5 day after its snapshot
    ("n2", "AS2", "https://new.example/", "2024-03-05 10:00:00", "ok"),
    ("u1", "AS2", "https://other.example/", "2024-03-05 10:00:00", "anomaly"),  # unlisted
    ("u2", "AS2", "https://other.example/", "2025-06-01 10:00:00", "anomaly"),  # long after the register froze
]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "lat.duckdb"
    rows = [(uid, "RU", asn, url, "web_connectivity", when, verdict, None if verdict == "ok" else "dns")
            for uid, asn, url, when, verdict in MEASUREMENTS]
    with Store(path) as store:
        store.add(map(stored, rows))
    for name, day, lines in (("a.csv", "2024-02-26", BEFORE), ("b.csv", "2024-03-04", FINAL)):
        dump = tmp_path / name
        dump.write_bytes(("\n".join([f"Updated: {day} 06:00:00 +0000", *lines]) + "\n").encode("cp1251"))
        code, _, err = run("ingest", "registry-ru", str(dump), "--db", str(path))
        assert code == 0, err
    return path


def test_json_carries_the_register_state_and_the_note(db: Path) -> None:
    code, out, err = run("registry", "latency", "--country", "ru", "--format", "json", "--db", str(db))
    assert code == 0, err
    report = json.loads(out)
    assert report["country"] == "RU"
    register = report["register"]
    assert register["frozen"] is True and register["last_snapshot"] == "2024-03-04"
    assert register["judged_until"] == "2024-03-11 06:00:00"  # one interval (7 days) of grace
    assert report["counted"]["after_register"] == 1
    assert any("stopped updating after 2024-03-04" in note for note in report["notes"])
    networks = {row["probe_asn"]: row for row in report["networks"]}
    assert networks["AS1"]["latency_median_days"] == 0.5 and networks["AS1"]["blocked_within_1_day"] == 1
    assert networks["AS2"]["never_blocked"] == 1 and networks["AS2"]["unlisted_blocked"] == 1
    assert networks["AS2"]["examples"]["unlisted_blocked"] == ["https://other.example/"]


def test_table_has_the_note_line(db: Path) -> None:
    code, out, err = run("registry", "latency", "--db", str(db))
    assert code == 0, err
    assert "AS1" in out and "AS2" in out
    assert "note: Russia's public register copy stopped updating after 2024-03-04" in out


def test_csv_is_one_row_per_network(db: Path) -> None:
    code, out, err = run("registry", "latency", "--format", "csv", "--db", str(db))
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert tuple(rows[0]) == LATENCY_FIELDS and [row["probe_asn"] for row in rows] == ["AS1", "AS2"]
    assert rows[1]["examples_unlisted_blocked"] == "https://other.example/"
    assert "stopped updating" in err  # the note goes to stderr: stdout stays CSV


def test_errors(tmp_path: Path, db: Path) -> None:
    code, _, err = run("registry", "latency", "--db", str(tmp_path / "none.duckdb"))
    assert code == 2 and "no store" in err
    code, _, err = run("registry", "latency", "--country", "RUS", "--db", str(db))
    assert code == 2 and "two-letter" in err
    empty = tmp_path / "empty.duckdb"
    with Store(empty) as store:
        store.add(map(stored, [("x", "RU", "AS1", "https://a.example/", "web_connectivity", "2024-03-02 10:00:00",
                                "ok", None)]))
    code, _, err = run("registry", "latency", "--db", str(empty))
    assert code == 2 and "ingest registry-ru" in err
