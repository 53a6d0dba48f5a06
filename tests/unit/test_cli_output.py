"""cli/output.py: the --format option, JSON and CSV on stdout, and tables that a pipe gets unwrapped
while a terminal keeps rich's layout."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, datetime

import pytest
import typer
from rich.table import Table
from typer.testing import CliRunner

from censorwatch.cli import output
from censorwatch.cli.output import TableJsonOrCsv, TableOrJson, csv_cell, emit

ROWS = [
    {"name": "a" * 150, "when": date(2024, 3, 1), "tags": ["x", "y"], "share": 0.5, "note": None},
    {"name": "b", "when": date(2024, 3, 2), "tags": [], "share": 1.0, "note": "two words"},
]
FIELDS = ("name", "when", "tags", "share", "note")


def _table() -> Table:
    table = Table(title="rows")
    for field in FIELDS:
        table.add_column(field)
    for row in ROWS:
        table.add_row(*(str(csv_cell(row[field])) for field in FIELDS))
    return table


app = typer.Typer()


@app.command()
def rows(fmt: TableJsonOrCsv = "table") -> None:
    emit(fmt, ROWS, FIELDS, _table)


@app.command()
def nested(fmt: TableOrJson = "table") -> None:
    output.write_json({"groups": ROWS[:1]})


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "80"})
    return result.exit_code, result.stdout, result.stderr


def test_json_is_a_list_of_row_objects_with_iso_dates() -> None:
    code, out, _ = invoke("rows", "--format", "json")
    assert code == 0
    assert json.loads(out) == [
        {"name": "a" * 150, "when": "2024-03-01", "tags": ["x", "y"], "share": 0.5, "note": None},
        {"name": "b", "when": "2024-03-02", "tags": [], "share": 1.0, "note": "two words"},
    ]
    assert out.count("\n") == 1  # one document on one line


def test_csv_has_a_header_and_one_line_per_row() -> None:
    code, out, _ = invoke("rows", "--format", "csv")
    assert code == 0
    assert out.splitlines()[0] == "name,when,tags,share,note"
    assert list(csv.reader(io.StringIO(out)))[1:] == [
        ["a" * 150, "2024-03-01", "x;y", "0.5", ""],
        ["b", "2024-03-02", "", "1.0", "two words"],
    ]


def test_a_format_not_offered_is_refused_with_the_choices() -> None:
    code, out, err = invoke("nested", "--format", "csv")
    assert code == 2 and out == ""
    assert "error: --format must be one of table, json, not 'csv'" in " ".join(err.split())
    assert invoke("rows", "--format", "xml")[0] == 2


def test_on_a_pipe_each_row_is_one_line() -> None:
    code, out, _ = invoke("rows")
    assert code == 0
    row_lines = [line for line in out.splitlines() if line.startswith("│")]
    assert len(row_lines) == 2 and "a" * 150 in row_lines[0]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_keeps_its_width(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = _Terminal()
    monkeypatch.setattr("sys.stdout", terminal)
    monkeypatch.setenv("COLUMNS", "60")
    assert output.console().width == 60
    output.show(_table())
    lines = re.sub(r"\x1b\[[0-9;]*m", "", terminal.getvalue()).splitlines()  # a terminal gets colours
    assert max(len(line) for line in lines) <= 60
    assert "a" * 150 not in terminal.getvalue()  # rich fits the long cell into the terminal, as it always did


def test_a_closed_or_plain_stream_has_no_width(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdout", io.StringIO())
    assert output.console().width == output.UNBOUNDED_WIDTH


def test_report_style_indented_json(capsys: pytest.CaptureFixture[str]) -> None:
    output.write_json([{"a": datetime(2024, 3, 1, 10, 0)}], indent=True)
    assert capsys.readouterr().out == '[\n  {\n    "a": "2024-03-01T10:00:00"\n  }\n]\n'


@pytest.mark.parametrize(
    ("value", "cell"),
    [(None, ""), (["a", None, 3], "a;;3"), (True, "true"), (date(2024, 1, 2), "2024-01-02"), (7, 7), ("x", "x")],
)
def test_csv_cells(value: object, cell: object) -> None:
    assert csv_cell(value) == cell
