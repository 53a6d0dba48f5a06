"""Property: whatever JSON sits in test_keys, the app analysers return a valid verdict with a
reason and never fall back on the dispatcher's "malformed measurement" catch-all."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from censorwatch.analysis import analyse
from censorwatch.model.verdict import VERDICTS
from tests.unit.test_analysis_apps import APP_TESTS

KEYS = (
    "requests",
    "tcp_connect",
    "queries",
    "targets",
    "lookups",
    "tor_logs",
    "tor_log",
    "tor_progress",
    "sent",
    "received",
    "failure",
    "success",
    "bootstrap_time",
    "transport_status",
    "api_status",
    "bootstrap_failure",
    "tampering",
    "telegram_web_status",
    "signal_backend_status",
    "whatsapp_endpoints_status",
    "summary",
    "request",
    "response",
    "status",
    "ip",
    "port",
    "url",
    "headers",
    "body",
    "answers",
    "asn",
    "ipv4",
    "hostname",
    "failed_operation",
    "facebook_star_dns_consistent",
    "facebook-b-api-reachable",
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 70000)
    | st.floats(allow_nan=True)
    | st.text(max_size=12)
    | st.sampled_from(
        [
            "generic_timeout_error",
            "ssl_invalid_hostname",
            "network_unreachable",
            "blocked",
            "ok",
            "https://web.telegram.org/",
            "https://v.whatsapp.net/v2/register",
            "1.2.3.4",
        ]
    ),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(KEYS), children, max_size=5),
    max_leaves=25,
)


@settings(max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    test_name=st.sampled_from(APP_TESTS),
    keys=st.dictionaries(st.sampled_from(KEYS), json_values, max_size=8),
    version=st.sampled_from(["0.0.1", "0.2.2", "0.2.4", "x.y", ""]),
    started=st.sampled_from(["2022-11-18 10:00:00", "garbage", ""]),
)
def test_any_test_keys_give_a_verdict(test_name: str, keys: dict[str, Any], version: str, started: str) -> None:
    verdict = analyse(
        {
            "test_name": test_name,
            "test_version": version,
            "measurement_start_time": started,
            "annotations": {"engine_version": "3.18.0"},
            "test_keys": keys,
        }
    )
    assert verdict.verdict in VERDICTS
    assert verdict.reason and not verdict.reason.startswith("malformed measurement")
