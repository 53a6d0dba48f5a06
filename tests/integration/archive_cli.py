"""The archive's CLI as the integration tests drive it, and the rows it leaves in the store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
from typer.testing import CliRunner

from censorwatch.cli.main import app


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def add(db: Path, *args: str, workers: int = 2) -> dict[str, Any]:
    """`archive add` with a JSON report, which must succeed."""
    code, out, err = run("archive", "add", *args, "--db", str(db), "--workers", str(workers), "--format", "json")
    assert code == 0, err
    report: dict[str, Any] = json.loads(out)
    return report


def rows(db: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params).fetchall() if params is not None else con.execute(sql).fetchall()
    finally:
        con.close()
