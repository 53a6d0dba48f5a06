"""`events detect` against a real DuckDB store: known answers, incremental runs equal full ones,
late arrivals, ongoing and country-wide events, and the list command's output shape."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from censorwatch.analysis.events.detector import HOUR_US
from censorwatch.analysis.events.run import detect
from censorwatch.analysis.events.synthetic import EPOCH_US, generate
from censorwatch.analysis.events.synthetic_store import insert_rows
from censorwatch.cli.main import app
from censorwatch.store import Store

DAY = 24 * HOUR_US
NETWORKS = ("AS1", "AS2", "AS3")


def _rows(asn: str, days: int, blocked_from: int | None, blocked_to: int | None, per_day: int = 4):
    for index in range(days * per_day):
        t = EPOCH_US + index * DAY // per_day + NETWORKS.index(asn) * 1000
        day = index // per_day
        on = blocked_from is not None and blocked_from <= day and (blocked_to is None or day <= blocked_to)
        verdict = "failure" if index % 7 == 3 else ("anomaly" if on else "ok")
        yield ("news.example", "IR", asn), (t, verdict, "dns" if verdict == "anomaly" else None, f"{asn}-{index}")


def _events(store: Store) -> list[tuple[object, ...]]:
    return store.con.execute("SELECT * EXCLUDE (detected) FROM events ORDER BY ALL").fetchall()


@pytest.fixture
def national(db_file: Path) -> Path:
    """Three networks block news.example by DNS from day 20; AS3 stops on day 40."""
    with Store(db_file) as store:
        for asn in NETWORKS:
            insert_rows(store.con, _rows(asn, 60, 20, 39 if asn == "AS3" else None))
        insert_rows(store.con, [(("quiet.example", "IR", "AS1"), (EPOCH_US + i * DAY // 3, "ok", None, f"q{i}"))
                                for i in range(100)])
    return db_file


def test_known_answers_ongoing_and_country_wide(national: Path) -> None:
    with Store(national) as store:
        summary = detect(store.con)
        rows = store.con.execute(
            "SELECT probe_asn, epoch_us(start_time), epoch_us(end_time), networks, first_uid FROM events "
            "ORDER BY probe_asn NULLS FIRST"
        ).fetchall()
    assert summary.tally.failures > 0 and summary.network_events == 3 and summary.country_events == 1
    country, *networks = rows
    assert country[0] is None and country[3] == list(NETWORKS) and country[2] is None  # ongoing somewhere
    for asn, start, end, _, first_uid in networks:
        assert abs(start - (EPOCH_US + 20 * DAY)) <= 6 * HOUR_US
        assert first_uid.startswith(asn)
        if asn == "AS3":
            assert end is not None and abs(end - (EPOCH_US + 40 * DAY)) <= 6 * HOUR_US
        else:
            assert end is None


def test_an_incremental_run_equals_a_full_one(db_file: Path) -> None:
    country = generate(11)
    rows = sorted(((key, row) for key, series in country.series.items() for row in series), key=lambda r: r[1][0])
    with Store(db_file) as store:
        cut = len(rows) // 3
        insert_rows(store.con, rows[:cut])
        detect(store.con)
        insert_rows(store.con, rows[cut: 2 * cut])
        detect(store.con)
        insert_rows(store.con, rows[2 * cut:])
        second = detect(store.con)
        assert second.mode == "incremental" and second.tally.rows == len(rows) - 2 * cut
        incremental = _events(store)
        assert detect(store.con).tally.rows == 0  # nothing new: nothing read
        detect(store.con, full=True)
        assert _events(store) == incremental
        assert incremental


def test_late_measurements_recompute_their_series(national: Path) -> None:
    with Store(national) as store:
        detect(store.con)
        # A measurement of day 5 arrives after day 60 was processed: AS1's series is recomputed.
        insert_rows(store.con, [(("news.example", "IR", "AS1"), (EPOCH_US + 5 * DAY + 17, "ok", None, "late"))])
        summary = detect(store.con)
        assert summary.recomputed == 1 and summary.continued == 0
        after = _events(store)
        detect(store.con, full=True)
        assert _events(store) == after


def test_a_changed_verdict_recomputes_its_series(national: Path) -> None:
    with Store(national) as store:
        detect(store.con)
        store.con.execute(
            "UPDATE measurements SET verdict = 'failure', blocking = NULL WHERE measurement_uid = 'AS2-100'"
        )
        assert detect(store.con).recomputed == 1


def test_other_parameters_or_window_mean_a_full_run(national: Path) -> None:
    from datetime import datetime

    with Store(national) as store:
        assert detect(store.con).mode == "full"
        assert detect(store.con).mode == "incremental"
        assert detect(store.con, since=datetime(2024, 1, 10)).mode == "full"
        assert detect(store.con).mode == "incremental"  # the stored window is kept
        assert detect(store.con, until=datetime(2024, 2, 1)).mode == "full"


def test_list_json_and_csv_shapes(national: Path) -> None:
    runner = CliRunner()
    done = runner.invoke(app, ["events", "detect", "--db", str(national)])
    assert done.exit_code == 0, done.output
    listed = runner.invoke(app, ["events", "list", "--db", str(national), "--country", "ir", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    events = json.loads(listed.stdout)
    assert len(events) == 4
    for event in events:
        assert {"target", "probe_cc", "probe_asn", "blocking", "start", "end", "confidence", "measurements",
                "evidence"} <= set(event)
        assert event["target"] == "news.example" and event["blocking"] == "dns"
    assert [event["probe_asn"] for event in events].count(None) == 1
    ongoing = runner.invoke(app, ["events", "list", "--db", str(national), "--ongoing", "--format", "json"])
    assert {event["probe_asn"] for event in json.loads(ongoing.stdout)} == {None, "AS1", "AS2"}
    as_csv = runner.invoke(app, ["events", "list", "--db", str(national), "--target", "news.example",
                                 "--format", "csv"])
    table = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert len(table) == 4 and {"evidence_first", "measurements_during", "probe_asn"} <= set(table[0])
    assert runner.invoke(app, ["events", "list", "--db", str(national), "--country", "XX"]).exit_code == 0


def test_list_before_any_detection_is_empty(national: Path) -> None:
    listed = CliRunner().invoke(app, ["events", "list", "--db", str(national), "--format", "json"])
    assert listed.exit_code == 0 and json.loads(listed.stdout) == []


def test_a_run_killed_between_batches_leaves_a_consistent_store(
    national: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from censorwatch.analysis.events import run, tables

    real = tables.write_groups
    calls = []

    def dying(*args: object) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(run, "BATCH_GROUPS", 1)
    monkeypatch.setattr(tables, "write_groups", dying)
    with Store(national) as store, pytest.raises(KeyboardInterrupt):
        detect(store.con)
    monkeypatch.setattr(tables, "write_groups", real)
    with Store(national) as store:
        resumed = detect(store.con)
        assert resumed.mode == "incremental" and resumed.new >= 1
        after = _events(store)
        detect(store.con, full=True)
        assert _events(store) == after


def test_pooled_onsets_in_the_store_are_the_harness_ones(db_file: Path) -> None:
    """The store-backed run revises network onsets with the pooled onsets exactly as the harness
    does (evaluation.pooled_events), and keeps the detector's own event of each revised one."""
    from censorwatch.analysis.events.country import CountryParams
    from censorwatch.analysis.events.detector import Params
    from censorwatch.analysis.events.evaluation import pooled_events
    from censorwatch.analysis.events.pooled import PoolParams
    from censorwatch.analysis.events.series import detect_series

    country = generate(11)
    found = {key: detect_series(Params(), key, rows) for key, rows in country.series.items()}
    expected = sorted(
        (e.target, e.probe_asn, e.blocking, e.start, e.first_uid, e.measurements, e.before_measurements)
        for events in pooled_events(country, found, Params(), CountryParams(), PoolParams()).values()
        for e in events
    )
    with Store(db_file) as store:
        insert_rows(store.con, [(key, row) for key, series in country.series.items() for row in series])
        detect(store.con)
        stored = store.con.execute(
            "SELECT target, probe_asn, blocking, epoch_us(start_time), first_uid, measurements, "
            "before_measurements FROM events WHERE probe_asn IS NOT NULL ORDER BY ALL").fetchall()
        revised = store.con.execute("SELECT count(*) FROM events WHERE own IS NOT NULL").fetchall()[0][0]
    assert [tuple(row) for row in stored] == expected
    assert revised > 0
