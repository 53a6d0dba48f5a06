"""Informed consent: what running a probe reveals and risks, and the record that the user read it.

Modelled on OONI Probe's onboarding ("Things to know" and its two-question quiz, ooni/probe
desktop and mobile apps): a probe must not measure anything before the person running it has
been told that the measurement is visible to whoever watches their network, that it is
published, and that it can be risky. The record lives in the user's config directory so that
scripts can give it once (`censorwatch onboard --yes`) and every later run finds it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import orjson

from censorwatch.durable import written_whole

# Raise when the text below changes in substance: everyone is then asked again.
CONSENT_VERSION: Final = 1
CONSENT_FILE: Final = "consent.json"

RISKS: Final = (
    "censorwatch probe tests whether websites are blocked from the network you are on, and "
    "what blocks them.",
    "Anyone monitoring your internet activity (your government, your internet provider, your "
    "employer, whoever runs the Wi-Fi) may see that you run a network measurement tool, and "
    "which sites it tries to open.",
    "Measurements you upload are published openly. They include your network (its ASN and "
    "name) and your country, and when the test ran. They never include your IP address: "
    "censorwatch forgets it as soon as it has looked up the country and network.",
    "In some countries, testing or visiting certain sites (political, religious, LGBTQ+, news, "
    "circumvention tools, ...) may be illegal or may draw attention. Decide knowing the laws "
    "and the situation where you are; if in doubt, ask someone you trust before running it.",
)


@dataclass(frozen=True)
class QuizQuestion:
    statement: str
    answer: bool
    explanation: str


# OONI Probe's quiz asks these two, as true/false statements, before a first run.
QUIZ: Final = (
    QuizQuestion(
        "Anyone monitoring my internet activity (e.g. government, ISP or employer) may be able "
        "to see that I am running censorwatch probe.",
        True,
        "True: the probe's traffic is visible to whoever can watch your connection, like any "
        "other traffic, and it is recognisable as a measurement.",
    ),
    QuizQuestion(
        "The measurements I upload are published openly, with my country and network.",
        True,
        "True: uploaded measurements are public (OONI publishes them as open data), with your "
        "country and network (ASN) but never your IP address.",
    ),
)


class ConsentError(Exception):
    """The consent record cannot be written."""


@dataclass(frozen=True)
class Consent:
    version: int
    date: str  # ISO 8601, UTC
    how: str  # "interactive" or "--yes"


def config_dir() -> Path:
    """$XDG_CONFIG_HOME/censorwatch, else ~/.config/censorwatch (XDG Base Directory spec)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "censorwatch"


def consent_path() -> Path:
    return config_dir() / CONSENT_FILE


def current_consent(path: Path | None = None) -> Consent | None:
    """The recorded consent if it is for the current text; an unreadable or older record counts as
    none (the user is asked again rather than assumed to agree)."""
    path = path if path is not None else consent_path()
    try:
        value = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    if not isinstance(value, dict) or value.get("version") != CONSENT_VERSION:
        return None
    date, how = value.get("date"), value.get("how")
    if not isinstance(date, str) or not isinstance(how, str):
        return None
    return Consent(CONSENT_VERSION, date, how)


def record_consent(how: str, path: Path | None = None) -> Consent:
    path = path if path is not None else consent_path()
    consent = Consent(CONSENT_VERSION, datetime.now(UTC).isoformat(timespec="seconds"), how)
    body = {"version": consent.version, "date": consent.date, "how": consent.how,
            "text": list(RISKS)}  # the words agreed to, so the record stands on its own
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with written_whole(path) as temporary:
            temporary.write_bytes(orjson.dumps(body, option=orjson.OPT_INDENT_2))
    except OSError as error:
        raise ConsentError(f"cannot record consent in {path}: {error}") from error
    return consent


def consent_missing(what: str) -> str:
    """What `probe` and `upload` say before the user has agreed ("censorwatch probe measures nothing")."""
    return (f"{what} until you have read what a measurement reveals and agreed: run `censorwatch onboard` "
            "first (`censorwatch onboard --yes` in scripts)")
