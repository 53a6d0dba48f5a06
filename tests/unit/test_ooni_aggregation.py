"""Parser of OONI's /api/v1/aggregation answer: the recorded real one, and hostile variants."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from censorwatch.sources.ooni_aggregation import MalformedAggregation, parse_aggregation, parse_aggregation_text
from censorwatch.sources.ooni_api import ApiQuery, aggregation_params

RECORDED = ("aggregation__test_name-web_connectivity_since-2022-03-01_until-2022-03-04_"
            "axis_x-measurement_start_day_time_grain-day.json")


def _row(day: Any = "2022-03-01", **counts: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"measurement_start_day": day, "measurement_count": 10, "anomaly_count": 2,
                           "confirmed_count": 1, "failure_count": 3, "ok_count": 4}
    row.update(counts)
    return row


def _document(rows: Any) -> dict[str, Any]:
    return {"v": 0, "dimension_count": 1, "db_stats": {"row_count": 99, "bytes": 1, "total_row_count": 99,
                                                       "elapsed_seconds": 0.1}, "result": rows}


def test_recorded_real_answer(shared_data: Path) -> None:
    envelope = json.loads((shared_data / "ooni" / "api_responses" / RECORDED).read_text("utf-8"))
    assert envelope["status"] == 200
    aggregation = parse_aggregation_text(envelope["body"])
    assert [d.day for d in aggregation.days] == [date(2022, 3, 1), date(2022, 3, 2), date(2022, 3, 3)]
    assert [d.measurement_count for d in aggregation.days] == [1113357, 1212215, 1161898]
    assert aggregation.total == 3487470
    assert (aggregation.malformed_rows, aggregation.problems) == (0, ())
    # until is exclusive: 2022-03-04 is not in the answer.
    assert max(d.day for d in aggregation.days) < date(2022, 3, 4)
    # What holds on the real answer: the four categories are disjoint (anomaly_count leaves out the confirmed)
    # and cover the day; ok + anomaly + failure falls short by exactly confirmed_count.
    assert aggregation.inconsistent_rows == 0
    for day in aggregation.days:
        assert day.ok_count + day.anomaly_count + day.confirmed_count + day.failure_count == day.measurement_count
        assert day.measurement_count - (day.ok_count + day.anomaly_count + day.failure_count) == day.confirmed_count
        assert 0 < day.confirmed_count < day.anomaly_count
    # db_stats counts rows ClickHouse read, not measurements matched: more than the total.
    assert aggregation.db_row_count == 3979248 > aggregation.total


def test_good_synthetic_answer() -> None:
    aggregation = parse_aggregation(_document([_row("2022-03-01"), _row("2022-03-02", measurement_count=20,
                                                                          ok_count=14)]))
    assert aggregation.total == 30
    assert aggregation.malformed_rows == 0
    assert aggregation.db_row_count == 99


def test_empty_result_is_zero_not_an_error() -> None:
    aggregation = parse_aggregation(_document([]))
    assert (aggregation.total, aggregation.days, aggregation.malformed_rows) == (0, (), 0)


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ({k: v for k, v in _row().items() if k != "measurement_count"}, "measurement_count missing"),
        ({k: v for k, v in _row().items() if k != "ok_count"}, "ok_count missing"),
        (_row(measurement_count="10"), "measurement_count is not a non-negative integer"),
        (_row(anomaly_count=2.0), "anomaly_count is not a non-negative integer"),
        (_row(failure_count=True), "failure_count is not a non-negative integer"),
        (_row(confirmed_count=None), "confirmed_count is not a non-negative integer"),
        (_row(ok_count=-1), "ok_count is not a non-negative integer"),
        (_row(measurement_count=-5), "measurement_count is not a non-negative integer"),
        (_row(ok_count=11), "ok_count 11 exceeds measurement_count 10"),
        (_row(day="2022-13-01"), "not a date"),
        (_row(day="2022-03-01T00:00:00Z"), "not a YYYY-MM-DD date"),
        (_row(day=None), "not a YYYY-MM-DD date"),
        ({k: v for k, v in _row().items() if k != "measurement_start_day"}, "not a YYYY-MM-DD date"),
        ([1, 2, 3], "not an object"),
        ("2022-03-01", "not an object"),
    ],
)
def test_malformed_row_is_counted_and_skipped(row: Any, reason: str) -> None:
    good = _row("2022-03-02", measurement_count=7, ok_count=1)
    aggregation = parse_aggregation(_document([row, good]))
    assert aggregation.malformed_rows == 1
    assert aggregation.total == 7  # the good row still counts
    assert [d.day for d in aggregation.days] == [date(2022, 3, 2)]
    assert reason in aggregation.problems[0]
    assert aggregation.problems[0].startswith("row 0:")


def test_repeated_day_is_skipped_not_double_counted() -> None:
    aggregation = parse_aggregation(_document([_row(), _row()]))
    assert aggregation.total == 10
    assert aggregation.malformed_rows == 1
    assert "repeated" in aggregation.problems[0]


def test_broken_partition_is_kept_and_flagged() -> None:
    # Not promised by the API's schema: the count is still OONI's, so it stays in the total.
    aggregation = parse_aggregation(_document([_row(ok_count=0), _row("2022-03-02")]))
    assert aggregation.total == 20
    assert aggregation.malformed_rows == 0
    assert aggregation.inconsistent_rows == 1


def test_problems_are_bounded() -> None:
    aggregation = parse_aggregation(_document([_row(ok_count="x")] * 50))
    assert aggregation.malformed_rows == 50
    assert len(aggregation.problems) == 5
    assert aggregation.total == 0


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ([], "not a JSON object"),
        ("result", "not a JSON object"),
        (None, "not a JSON object"),
        ({"error": "Choose time_grain between day, week for the given time range", "v": 0}, "OONI answered an error"),
        ({"v": 0, "dimension_count": 1}, "no result list"),
        ({"v": 0, "dimension_count": 1, "result": {"measurement_count": 3}}, "no result list"),
        ({"v": 0, "dimension_count": 1, "result": "[]"}, "no result list"),
        ({"v": 1, "dimension_count": 1, "result": []}, "unknown aggregation format"),
        ({"v": "0", "dimension_count": 1, "result": []}, "unknown aggregation format"),
        ({"v": 0, "dimension_count": 2, "result": []}, "expected one dimension"),
    ],
)
def test_unreadable_answer_raises(document: Any, reason: str) -> None:
    with pytest.raises(MalformedAggregation, match=reason):
        parse_aggregation(document)


def test_not_json_raises() -> None:
    for text in ("<html>busy</html>", "", b"\xff\xfe{", '{"v": 0, "result": ['):
        with pytest.raises(MalformedAggregation, match="not JSON"):
            parse_aggregation_text(text)


def test_recorded_shape_with_hostile_edits(shared_data: Path) -> None:
    envelope = json.loads((shared_data / "ooni" / "api_responses" / RECORDED).read_text("utf-8"))
    real = json.loads(envelope["body"])
    edited = copy.deepcopy(real)
    edited["result"][1]["measurement_count"] = str(edited["result"][1]["measurement_count"])
    del edited["result"][2]["ok_count"]
    aggregation = parse_aggregation(edited)
    assert aggregation.malformed_rows == 2
    assert aggregation.total == real["result"][0]["measurement_count"]
    edited.pop("db_stats")
    assert parse_aggregation(edited).db_row_count is None


def test_params_ask_for_days_with_the_list_filters() -> None:
    assert aggregation_params(ApiQuery("RU", "2022-03-01", "2022-03-04")) == {
        "probe_cc": "RU", "since": "2022-03-01", "until": "2022-03-04",
        "axis_x": "measurement_start_day", "time_grain": "day"}
    assert aggregation_params(ApiQuery("RU", "2022-03-01", "2022-03-04", "web_connectivity"))["test_name"] == (
        "web_connectivity")
