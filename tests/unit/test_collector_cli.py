"""Command-line checks of `censorwatch collector` and `censorwatch upload` that need no server."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from censorwatch.cli.main import app
from censorwatch.services.collector.server import parse_listen

runner = CliRunner()


@pytest.mark.parametrize(
    ("text", "expected"),
    [("127.0.0.1:8765", ("127.0.0.1", 8765)), ("[::1]:0", ("::1", 0)), ("localhost:80", ("localhost", 80))],
)
def test_parse_listen(text: str, expected: tuple[str, int]) -> None:
    assert parse_listen(text) == expected


@pytest.mark.parametrize("text", ["127.0.0.1", ":80", "127.0.0.1:http", "127.0.0.1:70000", ""])
def test_parse_listen_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_listen(text)


def test_collector_refuses_a_bad_listen_address(tmp_path: Path) -> None:
    result = runner.invoke(app, ["collector", "--listen", "nowhere", "--db", str(tmp_path / "c.duckdb")])
    assert result.exit_code == 2
    assert "HOST:PORT" in result.output


def test_collector_refuses_an_empty_token_file(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("\n")
    result = runner.invoke(app, ["collector", "--listen", "127.0.0.1:0", "--db", str(tmp_path / "c.duckdb"),
                                 "--token-file", str(token)])
    assert result.exit_code == 2
    assert "empty" in result.output


def test_upload_with_nothing_spooled(tmp_path: Path) -> None:
    result = runner.invoke(app, ["upload", "--spool", str(tmp_path / "absent")])
    assert result.exit_code == 0
    assert "nothing to upload" in result.output
