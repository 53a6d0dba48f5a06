"""`censorwatch report` end to end on a DuckDB file: table, CSV and JSON, and bad options."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from censorwatch.cli.main import app
from censorwatch.store import Store
from tests.unit.test_aggregates import ROWS, stored

pytestmark = pytest.mark.integration


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "r.duckdb"
    with Store(path) as store:
        store.add(map(stored, ROWS))
    return path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def test_json(db: Path) -> None:
    code, out, _ = run("report", "--country", "ru", "--format", "json", "--db", str(db))
    assert code == 0
    rows = json.loads(out)
    assert [r["target"] for r in rows] == ["blocked.example", "telegram"]
    assert rows[0]["first_anomaly"] == "2024-03-01 10:00:00"
    assert rows[0]["methods"] == ["dns", "http-diff", "tcp_ip"]
    assert rows[1]["networks"] == ["AS3"]


def test_csv_with_window(db: Path) -> None:
    code, out, _ = run(
        "report",
        "--country",
        "RU",
        "--since",
        "2024-03-02",
        "--until",
        "2024-03-05",
        "--format",
        "csv",
        "--db",
        str(db),
    )
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["target"], r["blocked"], r["methods"]) for r in rows] == [
        ("blocked.example", "1", "tcp_ip"),
        ("telegram", "1", "tcp_ip"),
    ]
    assert list(rows[0]) == [
        "target",
        "measurements",
        "blocked",
        "confirmed",
        "failures",
        "blocked_share",
        "first_anomaly",
        "last_anomaly",
        "methods",
        "networks",
    ]


def test_table(db: Path) -> None:
    code, out, _ = run("report", "--country", "RU", "--limit", "1", "--db", str(db))
    assert code == 0
    assert "blocked.example" in out and "telegram" not in out
    assert "75%" in out


def test_empty_country_says_so(db: Path) -> None:
    code, out, err = run("report", "--country", "DE", "--format", "json", "--db", str(db))
    assert code == 0 and json.loads(out) == []
    assert "no anomalies" in err


@pytest.mark.parametrize(
    "args",
    [
        ["--country", "RUS"],
        ["--country", "RU", "--format", "xml"],
        ["--country", "RU", "--since", "March"],
        ["--country", "RU", "--since", "2024-03-05", "--until", "2024-03-01"],
    ],
)
def test_bad_options(db: Path, args: list[str]) -> None:
    code, _, err = run("report", *args, "--db", str(db))
    assert code == 2
    assert "error" in err


def test_missing_store(tmp_path: Path) -> None:
    code, _, err = run("report", "--country", "RU", "--db", str(tmp_path / "none.duckdb"))
    assert code == 2 and "no store" in err
