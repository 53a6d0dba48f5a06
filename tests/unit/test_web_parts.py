"""Pure parts of the explorer: the probe-versus-control view, chart geometry, the tile map."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from censorwatch.web import charts, demo, worldmap
from censorwatch.web.evidence import evidence, title_of


def test_evidence_of_a_blockpage_sets_probe_next_to_control() -> None:
    m = demo.web_measurement("https://www.bbc.com/news", "IR", "AS1", "Net", demo.END, "http_blockpage")
    seen = evidence(m)
    assert seen["kind"] == "web"
    assert seen["dns"][0]["answers"] == [seen["control_dns"]["addrs"][0]]
    assert seen["tcp"][0]["probe"] == "success" and seen["tcp"][0]["control"] == "success"
    assert seen["http"]["probe"]["title"] == "Access denied"
    assert seen["http"]["control"]["title"] == "www.bbc.com — home"
    assert seen["http"]["probe"]["body_length"] < seen["http"]["control"]["body_length"]


def test_evidence_of_tcp_and_tls_failures() -> None:
    dropped = evidence(demo.web_measurement("https://x.org/", "RU", "AS1", "N", demo.END, "tcp_drop"))
    assert dropped["tcp"][0]["probe"] == "generic_timeout_error"
    assert dropped["http"]["probe"]["failure"] == "generic_timeout_error"
    reset = evidence(demo.web_measurement("https://x.org/", "RU", "AS1", "N", demo.END, "tls_reset"))
    assert reset["tls"][0]["probe"] == "connection_reset"


@pytest.mark.parametrize(
    "test_keys",
    [None, {}, {"queries": "x", "tcp_connect": [1, None], "requests": [{"response": []}], "control": 3},
     {"requests": [{"response": {"body": {"format": "base64", "data": "!!notbase64"}}}]}],
)
def test_evidence_never_raises_on_hostile_shapes(test_keys: Any) -> None:
    seen = evidence({"test_name": "web_connectivity", "test_keys": test_keys})
    assert seen["kind"] == "web"


def test_base64_bodies_are_decoded() -> None:
    body = "<title>Заблокировано</title>".encode()
    m = {"test_name": "web_connectivity", "test_keys": {"requests": [{"response": {
        "code": 200, "body": {"format": "base64", "data": base64.b64encode(body).decode()}}}]}}
    assert evidence(m)["http"]["probe"]["title"] == "Заблокировано"


def test_title_of() -> None:
    assert title_of("<html><TITLE lang=x>\n  A  page </title>") == "A page"
    assert title_of("no title") is None


def test_bar_chart_stacks_verdicts_and_buckets_long_periods() -> None:
    rows = [{"day": f"2025-05-{d:02d}", "verdicts": {"ok": 3, "anomaly": 1, "confirmed": d % 2, "failure": 0}}
            for d in range(1, 11)]
    chart = charts.bar_chart(rows)
    assert chart is not None and len(chart.bars) == 10
    tallest = max(bar.total for bar in chart.bars)
    assert chart.max_total == tallest
    for bar in chart.bars:
        assert sum(s.height for s in bar.segments) <= chart.height - chart.top + 0.01 * len(bar.segments) + 1
        assert [s.kind for s in bar.segments][-1] in ("anomaly", "confirmed")
    year = [{"day": f"2024-{m:02d}-{d:02d}", "verdicts": {"ok": 1}} for m in range(1, 13) for d in range(1, 29)]
    weekly = charts.bar_chart(year)
    assert weekly is not None and len(weekly.bars) <= 53 and weekly.first.startswith("week of")
    assert charts.bar_chart([]) is None


def test_heatmap_levels() -> None:
    rows = [{"day": "2025-05-01", "probe_cc": "IR", "total": 4, "blocked": 4, "verdicts": {"confirmed": 1}},
            {"day": "2025-05-01", "probe_cc": "DE", "total": 4, "blocked": 0, "verdicts": {"confirmed": 0}},
            {"day": "2025-05-02", "probe_cc": "DE", "total": 4, "blocked": 1, "verdicts": {"confirmed": 0}}]
    chart = charts.heatmap(rows, "probe_cc")
    assert chart is not None
    assert [label for label, _ in chart.rows] == ["DE", "IR"]
    assert sorted(cell.level for cell in chart.cells) == [1, 3, 5]


def test_world_map_tiles() -> None:
    assert len(worldmap.POSITIONS) > 150
    assert len(set(worldmap.POSITIONS.values())) == len(worldmap.POSITIONS)  # one country per square
    assert set(worldmap.POSITIONS) <= set(worldmap.NAMES)
    tiles = {t.code: t for t in worldmap.tiles({"IR": {"total": 10, "blocked": 6, "confirmed": 2}})}
    assert tiles["IR"].level == 5 and tiles["DE"].level == 0
    assert worldmap.level(100, 0) == 1 and worldmap.level(100, 3) == 2 and worldmap.level(100, 30) == 4
    assert worldmap.country_name("ir") == "Iran" and worldmap.country_name("QQ") == "QQ"
