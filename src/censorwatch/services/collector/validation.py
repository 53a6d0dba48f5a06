"""Checks on what probes send, with the rules of ooni/spec backends/bk-003-collector.md.

Every failure is an `ApiError` carrying the HTTP status and a short reason that the app returns
as {"error": reason}; nothing is written before these checks pass.
"""

from __future__ import annotations

import re
from typing import Any, Final

import orjson
from pydantic import BaseModel, Field

from censorwatch.services.collector.state import Report


class ApiError(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


# bk-003 §3.1: the regular expressions each field of an open-report request MUST match.
_ASN: Final = re.compile(r"AS[0-9]{1,10}")
_CC: Final = re.compile(r"[A-Z]{2}")
_SOFTWARE: Final = re.compile(r"[0-9A-Za-z_.+-]{1,100}")
_TEST_NAME: Final = re.compile(r"[a-zA-Z0-9_\- ]{1,100}")
_FORMAT_VERSION: Final = re.compile(r"[0-9A-Za-z_.+-]{1,32}")
# Our report ids are [0-9A-Za-z_] only: anything else (a slash, dots, percent signs) is refused
# before it could reach a file name or a log line.
REPORT_ID: Final = re.compile(r"[0-9A-Za-z_]{1,200}")

OPEN_FIELDS: Final = {
    "probe_cc": _CC,
    "probe_asn": _ASN,
    "software_name": _SOFTWARE,
    "software_version": _SOFTWARE,
    "test_name": _TEST_NAME,
    "test_version": _SOFTWARE,
    "data_format_version": _FORMAT_VERSION,
}
# Deprecated fields of §3.1 that a collector MAY refuse (point 3). The deprecated probe_ip and
# input_hashes are simply dropped: nothing in an open request is stored except OPEN_FIELDS.
REFUSED_OPEN_FIELDS: Final = ("content", "test_helper")


class OpenReportRequest(BaseModel):
    """bk-003 §3.1 (documents the request body in the OpenAPI schema)."""

    probe_cc: str = Field(pattern=r"^[A-Z]{2}$")
    probe_asn: str = Field(pattern=r"^AS[0-9]{1,10}$")
    software_name: str = Field(pattern=r"^[0-9A-Za-z_.+-]+$")
    software_version: str = Field(pattern=r"^[0-9A-Za-z_.+-]+$")
    test_name: str = Field(pattern=r"^[a-zA-Z0-9_\- ]+$")
    test_version: str = Field(pattern=r"^[0-9A-Za-z_.+-]+$")
    data_format_version: str
    format: str = Field(pattern=r"^json$")
    test_start_time: str | None = None


class OpenReportResponse(BaseModel):
    report_id: str
    backend_version: str
    supported_formats: list[str]


class SubmitRequest(BaseModel):
    """bk-003 §3.2: `content` is one measurement in the base data format (df-000)."""

    format: str = Field(pattern=r"^json$")
    content: dict[str, Any]


class SubmitResponse(BaseModel):
    measurement_uid: str


class CloseResponse(BaseModel):
    status: str


class ErrorResponse(BaseModel):
    error: str


def parse_json_object(body: bytes, what: str) -> dict[str, Any]:
    if not body:
        raise ApiError(400, f"empty body: expected a JSON object ({what})")
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise ApiError(400, f"malformed JSON: {error.msg} at position {error.pos}") from None
    if not isinstance(value, dict):
        raise ApiError(400, f"expected a JSON object ({what}), got {_json_type(value)}")
    return value


def _json_type(value: object) -> str:
    return {list: "array", str: "string", int: "number", float: "number", bool: "boolean"}.get(
        type(value), "null" if value is None else type(value).__name__
    )


def parse_open_request(body: bytes) -> dict[str, str]:
    request = parse_json_object(body, "open report")
    for name in REFUSED_OPEN_FIELDS:
        if name in request:
            raise ApiError(400, f"field {name!r} is not accepted (deprecated in bk-003)")
    fmt = request.get("format")
    if fmt != "json":
        raise ApiError(400, f"unsupported format {fmt!r}: only \"json\" is accepted")
    fields: dict[str, str] = {}
    for name, pattern in OPEN_FIELDS.items():
        value = request.get(name)
        if value is None:
            raise ApiError(400, f"missing field {name!r}")
        if not isinstance(value, str):
            raise ApiError(400, f"field {name!r} must be a string, got {_json_type(value)}")
        if not pattern.fullmatch(value):
            raise ApiError(400, f"field {name!r} has an invalid value")
        fields[name] = value
    start = request.get("test_start_time")
    if start is not None and not isinstance(start, str):
        raise ApiError(400, f"field 'test_start_time' must be a string, got {_json_type(start)}")
    return fields


def check_report_id(report_id: str) -> None:
    if not REPORT_ID.fullmatch(report_id):
        raise ApiError(400, "malformed report id")


def parse_submission(body: bytes) -> dict[str, Any]:
    """The measurement of a §3.2 update request, shape-checked but not yet matched to its report."""
    request = parse_json_object(body, "report update")
    fmt = request.get("format")
    if fmt != "json":
        raise ApiError(400, f"unsupported format {fmt!r}: only \"json\" is accepted")
    if "content" not in request:
        raise ApiError(400, "missing field 'content'")
    content = request["content"]
    if not isinstance(content, dict):
        raise ApiError(400, f"field 'content' must be a JSON object, got {_json_type(content)}")
    return content


_STRING_FIELDS: Final = (
    "test_name", "probe_cc", "probe_asn", "report_id", "measurement_start_time", "test_start_time",
    "software_name", "software_version", "test_version", "data_format_version", "probe_ip",
)


def check_measurement(content: dict[str, Any], report: Report) -> dict[str, Any]:
    """bk-003 §3.2 point 4: top-level keys per df-000, and the measurement must belong to the
    report it is submitted to (as ooni/backend compares report id and body metadata). Returns the
    content with report_id filled in when the probe left it out."""
    for name in _STRING_FIELDS:
        value = content.get(name)
        if value is not None and not isinstance(value, str):
            raise ApiError(400, f"content field {name!r} must be a string, got {_json_type(value)}")
    for name in ("test_keys", "annotations"):
        value = content.get(name)
        if value is not None and not isinstance(value, dict):
            raise ApiError(400, f"content field {name!r} must be an object, got {_json_type(value)}")
    if not content.get("test_name"):
        raise ApiError(400, "content has no test_name")
    if content["test_name"] != report.test_name:
        raise ApiError(400, "content test_name does not match the report's")
    for name in ("probe_cc", "probe_asn"):
        value = content.get(name)
        if value is not None and value.upper() != getattr(report, name).upper():
            raise ApiError(400, f"content {name} does not match the report's")
    given = content.get("report_id")
    if given and given != report.report_id:
        raise ApiError(400, "content report_id does not match the report it is submitted to")
    if not given:
        content = {**content, "report_id": report.report_id}
    return content
