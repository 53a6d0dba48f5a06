"""Scrubbing the submitter's address, report ids and measurement uids."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from censorwatch.services.collector.engine import measurement_uid_for, new_report_id
from censorwatch.services.collector.scrub import SCRUBBED_TEXT, scrub_measurement
from censorwatch.services.collector.validation import REPORT_ID, ApiError, parse_open_request

OPEN_FIELDS = {
    "probe_cc": "IT", "probe_asn": "AS30722", "software_name": "censorwatch", "software_version": "0.1.0",
    "test_name": "web_connectivity", "test_version": "0.4.3", "data_format_version": "0.2.0", "format": "json",
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("probe at 10.0.0.1 said hi", f"probe at {SCRUBBED_TEXT} said hi"),
        ("10.0.0.1:443", f"{SCRUBBED_TEXT}:443"),
        ("10.0.0.12", "10.0.0.12"),  # a longer address is another address
        ("110.0.0.1", "110.0.0.1"),
        ("10.0.0.1.5", "10.0.0.1.5"),
        ("[10.0.0.1]", f"[{SCRUBBED_TEXT}]"),
    ],
)
def test_scrub_whole_addresses_only(text: str, expected: str) -> None:
    scrubbed = scrub_measurement({"probe_ip": "10.0.0.1", "test_keys": {"note": text}}, [])
    assert scrubbed["test_keys"]["note"] == expected
    assert scrubbed["probe_ip"] == "127.0.0.1"


def test_scrub_peer_address_in_keys_lists_and_values() -> None:
    measurement = {
        "test_keys": {"seen": ["203.0.113.7", {"203.0.113.7:80": "ok"}], "n": 3, "flag": None},
        "input": "http://203.0.113.7/",
    }
    scrubbed = scrub_measurement(measurement, ["203.0.113.7", None, "not-an-address"])
    assert "203.0.113.7" not in str(scrubbed)
    assert scrubbed["test_keys"]["n"] == 3 and scrubbed["test_keys"]["flag"] is None
    assert "probe_ip" not in scrubbed  # never added when the probe did not send one
    assert measurement["input"] == "http://203.0.113.7/"  # the caller's object is not modified


def test_scrub_ipv6_peer() -> None:
    scrubbed = scrub_measurement({"x": "from 2001:db8::1 and 2001:db8::10"}, ["2001:db8::1"])
    assert scrubbed["x"] == f"from {SCRUBBED_TEXT} and 2001:db8::10"


def test_placeholder_address_is_left_alone() -> None:
    # 127.0.0.1 is the scrubbed value itself, and where the test helper lives in the lab.
    scrubbed = scrub_measurement({"probe_ip": "127.0.0.1", "control": "http://127.0.0.1:9/"}, ["127.0.0.1"])
    assert scrubbed == {"probe_ip": "127.0.0.1", "control": "http://127.0.0.1:9/"}


def test_report_id_shape_and_randomness() -> None:
    moment = datetime(2026, 11, 25, 7, 0, 0, tzinfo=UTC)
    fields = parse_open_request(orjson.dumps(OPEN_FIELDS))
    first, second = new_report_id(fields, moment), new_report_id(fields, moment)
    assert first != second
    assert first.startswith("20261125T070000Z_webconnectivity_IT_30722_n1_")
    assert len(first.rsplit("_", 1)[1]) == 43
    assert REPORT_ID.fullmatch(first)


def test_uid_depends_on_report_and_content_only() -> None:
    content = {"test_name": "web_connectivity", "probe_cc": "it", "measurement_start_time": "2026-11-25 07:00:01"}
    uid = measurement_uid_for("r1", content)
    assert uid == measurement_uid_for("r1", dict(reversed(list(content.items()))))
    assert uid != measurement_uid_for("r2", content)
    assert uid != measurement_uid_for("r1", {**content, "input": "x"})
    assert uid.startswith("20261125070001_IT_webconnectivity_")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"probe_cc": "it"}, "'probe_cc' has an invalid value"),
        ({"probe_asn": "30722"}, "'probe_asn' has an invalid value"),
        ({"probe_asn": 30722}, "'probe_asn' must be a string"),
        ({"software_name": "a/b"}, "'software_name' has an invalid value"),
        ({"test_name": None}, "missing field 'test_name'"),
        ({"format": "yaml"}, "unsupported format"),
        ({"content": "x"}, "'content' is not accepted"),
        ({"test_start_time": 5}, "'test_start_time' must be a string"),
    ],
)
def test_open_request_rules(change: dict[str, object], reason: str) -> None:
    body = {**OPEN_FIELDS, **change}
    with pytest.raises(ApiError) as caught:
        parse_open_request(orjson.dumps({k: v for k, v in body.items() if v is not None}))
    assert caught.value.status == 400
    assert reason in caught.value.reason


def test_open_request_drops_deprecated_probe_ip() -> None:
    fields = parse_open_request(orjson.dumps({**OPEN_FIELDS, "probe_ip": "192.0.2.1"}))
    assert "probe_ip" not in fields and "192.0.2.1" not in str(fields)
