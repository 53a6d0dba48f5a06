"""parse_time's fast path for OONI's "YYYY-MM-DD HH:MM:SS" gives what strptime gives, and
refuses what strptime refuses."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from censorwatch.model.measurement import OONI_TIME_FORMAT, parse_time


def by_strptime(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, OONI_TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


@given(st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31)))
def test_every_valid_time(moment: datetime) -> None:
    text = moment.strftime(OONI_TIME_FORMAT)
    assert parse_time(text) == by_strptime(text) == moment.replace(microsecond=0, tzinfo=UTC)


@given(st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}", fullmatch=True))
def test_well_formed_but_impossible_times(text: str) -> None:
    assert parse_time(text) == by_strptime(text)


def test_other_shapes() -> None:
    assert parse_time("2026-01-02T03:04:05Z") == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert parse_time("2026-01-02 03:04:05.25") == datetime(2026, 1, 2, 3, 4, 5, 250000, tzinfo=UTC)
    assert parse_time("2026-01-02") == datetime(2026, 1, 2, tzinfo=UTC)
    for bad in ("2026-02-30 00:00:00", "2026-01-02 24:00:00", "", "x", None, 5):
        assert parse_time(bad) is None, bad
