"""`censorwatch diffusion`: end to end over detected events, the three formats, requests made
through the archive's request store, and errors."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from censorwatch.analysis.events.detector import HOUR_US
from censorwatch.analysis.events.synthetic import EPOCH_US
from censorwatch.analysis.events.synthetic_store import insert_rows
from censorwatch.archive.request_store import RequestStore
from censorwatch.archive.requests import build_request
from censorwatch.cli.diffusion_cmd import PAIR_FIELDS, REQUEST_FIELDS
from censorwatch.store import Store
from tests.integration.test_registry_cli import run

pytestmark = pytest.mark.integration

DAY = 24 * HOUR_US
Row = tuple[tuple[str, str, str], tuple[int, str, str | None, str]]


def _series(target: str, cc: str, asn: str, blocked_from: int | None, days: int = 60) -> Iterator[Row]:
    """Four measurements a day; from day `blocked_from` on, all anomalous (DNS)."""
    for index in range(days * 4):
        t = EPOCH_US + index * DAY // 4 + int(asn[2:]) * 1000
        on = blocked_from is not None and index // 4 >= blocked_from
        yield (target, cc, asn), (t, "anomaly" if on else "ok", "dns" if on else None, f"{cc}-{asn}-{target}-{index}")


@pytest.fixture
def db(db_file: Path) -> Path:
    """news.example: blocked in RU from day 20 on two networks, in BY from day 30; calm.example never."""
    with Store(db_file) as store:
        for target, cc, asn, start in (("news.example", "RU", "AS1", 20), ("news.example", "RU", "AS2", 20),
                                       ("news.example", "BY", "AS9", 30), ("calm.example", "RU", "AS1", None),
                                       ("calm.example", "BY", "AS9", None)):
            insert_rows(store.con, _series(target, cc, asn, start))
        requests = RequestStore(store.con, writable=True)
        record = {"id": "ask-1", "requester": "Roskomnadzor", "recipient": "BY operators",
                  "date": "2024-01-26", "action": "block", "targets": ["https://www.news.example/x", "calm.example"]}
        requests.save([("record 1", build_request(record, "record 1"))], origin="test")
    code, _, err = run("events", "detect", "--db", str(db_file))
    assert code == 0, err
    return db_file


def test_json_over_detected_events(db: Path) -> None:
    code, out, err = run("diffusion", "--from", "ru", "--to", "by", "--format", "json", "--db", str(db))
    assert code == 0, err
    result = json.loads(out)
    assert result["source"] == "events" and result["from"] == "RU" and result["to"] == "BY"
    (pair,) = result["pairs"]
    assert pair["hostname"] == "news.example" and abs(pair["lag_days"] - 10) <= 0.5
    assert pair["from"]["networks"] == sorted(pair["from"]["networks"]) and set(pair["from"]["networks"]) == {
        "AS1", "AS2"}
    assert pair["to"]["uid"].startswith("BY-AS9-news.example-") and pair["lag_upper_bound"] is False
    asked = {row["hostname"]: row for row in result["requests"]}
    assert abs(asked["news.example"]["lag_days"] - 5) <= 0.5 and asked["news.example"]["network"] == "AS9"
    assert asked["calm.example"]["first_blocked"] is None and asked["calm.example"]["measured_after"] > 0


def test_csv_and_table(db: Path) -> None:
    code, out, err = run("diffusion", "--from", "RU", "--to", "BY", "--format", "csv", "--db", str(db))
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert tuple(rows[0]) == PAIR_FIELDS and rows[0]["hostname"] == "news.example"
    assert "--requests --format csv" in err
    code, out, err = run("diffusion", "--requests", "--to", "BY", "--format", "csv", "--db", str(db))
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert tuple(rows[0]) == REQUEST_FIELDS and [row["request_id"] for row in rows] == ["ask-1", "ask-1"]
    code, out, err = run("diffusion", "--from", "RU", "--to", "BY", "--source", "measurements", "--db", str(db))
    assert code == 0, err
    assert "news.example" in out and "Requests and blocking in BY" in out and "From measurements" in out


def test_errors(db: Path) -> None:
    for args, message in ((["--to", "BY"], "--from is required"), (["--from", "RU"], "--to is required"),
                          (["--from", "RU", "--to", "ru"], "two countries"),
                          (["--from", "RUS", "--to", "BY"], "two-letter"),
                          (["--from", "RU", "--to", "BY", "--source", "guess"], "--source")):
        code, _, err = run("diffusion", *args, "--db", str(db))
        assert code == 2 and message in err, (args, err)


def test_events_asked_for_but_never_detected(db_file: Path) -> None:
    with Store(db_file) as store:
        insert_rows(store.con, _series("news.example", "RU", "AS1", 1, days=3))
    code, _, err = run("diffusion", "--from", "RU", "--to", "BY", "--source", "events", "--db", str(db_file))
    assert code == 2 and "events detect" in err
    code, out, err = run("diffusion", "--requests", "--to", "BY", "--db", str(db_file))
    assert code == 0 and "holds no archive" in out, err
