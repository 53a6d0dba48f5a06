"""Informed consent: the record in the user's config dir, and `censorwatch onboard` (with --yes,
interactively with the quiz, and declined)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from censorwatch.cli.main import app
from censorwatch.probe.consent import CONSENT_VERSION, config_dir, consent_path, current_consent, record_consent

runner = CliRunner()


@pytest.fixture
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "config"


def test_config_dir_follows_xdg_then_home(config_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert consent_path() == config_home / "censorwatch" / "consent.json"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert config_dir() == tmp_path / "home" / ".config" / "censorwatch"


def test_record_then_read(config_home: Path) -> None:
    assert current_consent() is None
    recorded = record_consent("--yes")
    assert current_consent() == recorded
    body = json.loads(consent_path().read_text())
    assert body["version"] == CONSENT_VERSION and body["how"] == "--yes" and body["date"][:2] == "20"
    assert any("ASN" in paragraph for paragraph in body["text"])


@pytest.mark.parametrize("content", ["", "not json", "[]", '{"version": 0, "date": "x", "how": "y"}',
                                     '{"version": 1}'])
def test_unreadable_or_older_records_are_no_consent(config_home: Path, content: str) -> None:
    consent_path().parent.mkdir(parents=True)
    consent_path().write_text(content)
    assert current_consent() is None


def test_onboard_yes_records_without_questions(config_home: Path) -> None:
    result = runner.invoke(app, ["onboard", "--yes"])
    assert result.exit_code == 0, result.output
    assert current_consent() is not None and current_consent().how == "--yes"  # type: ignore[union-attr]


def test_onboard_interactive_explains_asks_and_records(config_home: Path) -> None:
    # Quiz: one right, one wrong answer (corrected, not punished), then yes.
    result = runner.invoke(app, ["onboard"], input="true\nfalse\ny\n")
    assert result.exit_code == 0, result.output
    for words in ("monitoring", "government", "ASN", "country", "never include your IP", "illegal"):
        assert words in result.output
    assert "Correct." in result.output and "Not quite." in result.output
    consent = current_consent()
    assert consent is not None and consent.how == "interactive"


def test_onboard_declined_records_nothing(config_home: Path) -> None:
    result = runner.invoke(app, ["onboard"], input="true\ntrue\nn\n")
    assert result.exit_code == 1
    assert current_consent() is None and not consent_path().exists()


def test_onboard_asks_again_on_a_non_answer(config_home: Path) -> None:
    result = runner.invoke(app, ["onboard"], input="maybe\ntrue\ntrue\ny\n")
    assert result.exit_code == 0, result.output
    assert current_consent() is not None
