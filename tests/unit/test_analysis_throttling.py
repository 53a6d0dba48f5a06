"""The throttling verdict rules (docs/verdicts-tests.md, "throttling (ours)"), case by case."""

from __future__ import annotations

from typing import Any

import pytest

from censorwatch.analysis.throttling import analyse, history_summary
from censorwatch.probe.endpoints_file import EndpointsError, load_endpoints
from censorwatch.probe.experiments.throttling import inputs, settings

MB = 1 << 20


def dl(kind: str, kbps: float | None = None, handshake: float = 0.05, size: int = MB, capped: bool = False,
       failure: str | None = None, operation: str | None = None) -> dict[str, Any]:
    return {"kind": kind, "kbit_per_s": None if failure else kbps, "tls_handshake_time": handshake,
            "bytes": 0 if failure else size, "time_capped": capped, "failure": failure,
            "failed_operation": operation}


def keys(target: list[dict[str, Any]], control: list[dict[str, Any]], decoy: list[dict[str, Any]] | None = None,
         history: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    downloads = []
    for i in range(max(len(target), len(control))):
        downloads += target[i : i + 1] + control[i : i + 1] + (decoy or [])[i : i + 1]
    tk: dict[str, Any] = {"downloads": downloads, "history": history, "failure": None,
                          "resolve": {"target": {"failure": None}, "control": {"failure": None}}}
    tk.update(extra)
    return {"test_name": "throttling", "test_keys": tk}


def many(kind: str, *speeds: float, **kw: Any) -> list[dict[str, Any]]:
    return [dl(kind, s, **kw) for s in speeds]


FAST = many("control", 50_000, 60_000, 55_000)
SLOW_TARGET = many("target", 140, 150, 130, capped=True, size=150_000)
SLOW_HISTORY = {"measurements": 3, "slow": 2, "first_seen": "2021-03-10 10:00:00", "last_seen": "2021-03-11 10:00:00"}

CASES: list[tuple[str, dict[str, Any], str, str | None, str]] = [
    ("as fast as the control", keys(many("target", 40_000, 45_000, 52_000), FAST), "ok", None, "not throttled"),
    ("the whole network slow", keys(many("target", 150, 160, 140), many("control", 140, 150, 170)),
     "ok", None, "not throttled"),
    ("one run slow", keys(SLOW_TARGET, FAST), "anomaly", "throttling", "one slow run is not proof"),
    ("one slow sample of three", keys(many("target", 150, 45_000, 52_000), FAST), "ok", None, "not throttled"),
    ("median slow but no majority", keys(many("target", 150, 160, 52_000, 53_000), FAST + many("control", 50_000)),
     "ok", None, "not throttled"),
    ("decoy name as slow: slow server", keys(SLOW_TARGET, FAST, many("decoy", 150, 140, 160)),
     "ok", None, "slow for every name"),
    ("decoy name fast: by server name", keys(SLOW_TARGET, FAST, many("decoy", 50_000, 51_000, 49_000)),
     "anomaly", "throttling", "triggered by the server name"),
    ("history confirms", keys(SLOW_TARGET, FAST, history=SLOW_HISTORY), "confirmed", "throttling", "since 2021-03-10"),
    ("history mostly fine", keys(SLOW_TARGET, FAST, history={"measurements": 5, "slow": 2}),
     "anomaly", "throttling", "2 of 5 earlier runs slow"),
    ("history one slow run", keys(SLOW_TARGET, FAST, history={"measurements": 1, "slow": 1}),
     "anomaly", "throttling", "1 of 1"),
    ("history but this run fine", keys(many("target", 40_000, 45_000, 52_000), FAST, history=SLOW_HISTORY),
     "ok", None, "not throttled"),
    ("slow but fast enough", keys(many("target", 5_000, 5_500, 4_800), many("control", 900_000, 800_000, 950_000)),
     "ok", None, "not throttled"),
    ("handshake slow against the decoy",
     keys(many("target", 40_000, 45_000, 52_000, handshake=1.5), FAST,
          many("decoy", 50_000, 50_000, 50_000, handshake=0.4)),
     "anomaly", "throttling", "TLS handshake 1.50 s against 0.40 s"),
    ("handshake slow against the control",
     keys(many("target", 40_000, 45_000, 52_000, handshake=3.0), many("control", 50_000, 60_000, handshake=0.5)),
     "anomaly", "throttling", "TLS handshake 3.00 s"),
    ("handshake twice as long but only 0.2 s more",
     keys(many("target", 40_000, 45_000, 52_000, handshake=0.4), many("control", 50_000, 60_000, handshake=0.2)),
     "ok", None, "not throttled"),
    ("target connect fails", keys(many("target", 1, 1, 1, failure="generic_timeout_error", operation="connect"),
                                  FAST), "anomaly", "tcp_ip", "blocked, not throttled"),
    ("target TLS reset", keys(many("target", 1, 1, failure="connection_reset", operation="tls_handshake"), FAST),
     "anomaly", "tls", "tls_handshake"),
    ("target name does not resolve",
     keys([], FAST, resolve={"target": {"failure": "dns_nxdomain_error"}, "control": {"failure": None}}),
     "anomaly", "dns", "did not resolve"),
    ("control fails", keys(SLOW_TARGET, many("control", 1, 1, 1, failure="connection_reset", operation="read")),
     "failure", None, "no comparison"),
    ("control does not resolve",
     keys([], [], resolve={"target": {"failure": None}, "control": {"failure": "dns_nxdomain_error"}}),
     "failure", None, "control's name"),
    ("bodies too small to measure", keys(many("target", 900, 800, size=2_000), FAST), "failure", None,
     "says nothing of speed"),
    ("measurement did not finish", keys([], [], failure="generic_timeout_error"), "failure", None, "did not finish"),
    ("nothing measured", {"test_name": "throttling", "test_keys": {}}, "failure", None, "control downloads"),
]


@pytest.mark.parametrize(("measurement", "verdict", "blocking", "reason"),
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_rule(measurement: dict[str, Any], verdict: str, blocking: str | None, reason: str) -> None:
    judged = analyse(measurement)
    assert (judged.verdict, judged.blocking) == (verdict, blocking), judged.reason
    assert reason in judged.reason


@pytest.mark.parametrize("hostile", [None, 3, "x", [1], {"kind": 1}])
@pytest.mark.parametrize("field", ["downloads", "history", "resolve", "failure"])
def test_malformed_content_never_raises(field: str, hostile: object) -> None:
    measurement = keys(SLOW_TARGET, FAST)
    tk = measurement["test_keys"]
    tk["downloads"] = tk["downloads"] + [hostile, {"kind": "target", "kbit_per_s": "fast", "bytes": "many"}]
    tk[field] = hostile
    assert analyse(measurement).verdict in ("ok", "anomaly", "failure")


def earlier(report: str, slow: bool, when: str) -> dict[str, Any]:
    target = SLOW_TARGET if slow else many("target", 40_000, 45_000, 52_000)
    return {**keys(target, FAST), "report_id": report, "measurement_start_time": when}


def test_history_summary_counts_one_run_per_report() -> None:
    runs = [  # newest first, as StoreHistory gives them
        earlier("r-now", True, "2021-03-12 10:00:00"),
        earlier("r3", True, "2021-03-11 10:00:00"),
        earlier("r3", False, "2021-03-11 09:59:00"),  # older sample of the same report: not counted
        earlier("r2", True, "2021-03-10 10:00:00"),
        {**keys([], []), "report_id": "r-broken"},  # nothing to compare: not counted
        earlier("r1", False, "2021-03-01 10:00:00"),
    ]
    assert history_summary(runs, exclude_report="r-now") == {
        "measurements": 3, "slow": 2, "first_seen": "2021-03-10 10:00:00", "last_seen": "2021-03-11 10:00:00"}
    assert history_summary([]) == {"measurements": 0, "slow": 0, "first_seen": None, "last_seen": None}


@pytest.mark.parametrize(("section", "key"), [
    ({}, "control_url"),
    ({"control_url": "ftp://x/"}, "control_url"),
    ({"control_url": "https://c/", "samples": 1}, "samples"),
    ({"control_url": "https://c/", "samples": 2.5}, "samples"),
    ({"control_url": "https://c/", "max_bytes": -1}, "max_bytes"),
    ({"control_url": "https://c/", "max_seconds": "10"}, "max_seconds"),
    ({"control_url": "https://c/", "decoy_server_name": 5}, "decoy_server_name"),
    ({"control_url": "https://c/", "history_limit": True}, "history_limit"),
])
def test_section_errors_name_the_key(section: dict[str, Any], key: str) -> None:
    with pytest.raises(EndpointsError, match=key):
        settings(section)


def test_shipped_section_is_valid() -> None:
    section = load_endpoints().section("throttling")
    assert settings(section)["max_bytes"] == 1 << 19
    assert inputs(section) == []
    with pytest.raises(EndpointsError, match="targets"):
        inputs({"targets": ["not a url"]})
