"""The collector app in-process (its lifespan, spool and DuckDB store are real; only the socket
is replaced by Starlette's test client): bk-003 flows, idempotence, restart, tokens, bad input."""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from censorwatch.services.collector.app import create_app
from censorwatch.services.collector.engine import CollectorConfig
from censorwatch.services.collector.framing import ScanReport
from censorwatch.services.collector.spool import read_events
from censorwatch.store import Store

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.integration

OPEN = {
    "probe_cc": "IT", "probe_asn": "AS30722", "software_name": "censorwatch", "software_version": "0.1.0",
    "test_name": "dnscheck", "test_version": "0.1.0", "data_format_version": "0.2.0", "format": "json",
}


def measurement(n: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "test_name": "dnscheck", "probe_cc": "IT", "probe_asn": "AS30722", "probe_ip": "127.0.0.1",
        "input": f"dot://resolver-{n}.example/", "measurement_start_time": "2026-11-25 07:00:00",
        "data_format_version": "0.2.0", "software_name": "censorwatch", "software_version": "0.1.0",
        "test_keys": {"n": n}, **extra,
    }


@pytest.fixture
def make_client(tmp_path: Path) -> Iterator[Callable[..., TestClient]]:
    opened: list[TestClient] = []

    def make(**options: Any) -> TestClient:
        config = CollectorConfig(db_path=tmp_path / "c.duckdb", spool_dir=tmp_path / "spool", **options)
        client = TestClient(create_app(config))
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


def stop(client: TestClient) -> None:
    client.__exit__(None, None, None)


def open_report(client: TestClient, headers: dict[str, str] | None = None) -> str:
    response = client.post("/report", json=OPEN, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["supported_formats"] == ["json"] and body["backend_version"]
    report_id: str = body["report_id"]
    return report_id


def stored_rows(tmp_path: Path) -> list[dict[str, Any]]:
    with Store(tmp_path / "c.duckdb", read_only=True) as store:
        return list(store.iter_measurements())


def spooled_measurements(tmp_path: Path) -> list[dict[str, Any]]:
    return [e.event for e in read_events(tmp_path / "spool", ScanReport()) if e.event["kind"] == "measurement"]


def test_open_submit_close_and_store(make_client: Callable[..., TestClient], tmp_path: Path) -> None:
    client = make_client()
    report_id = open_report(client)
    uids = []
    for n in range(3):
        response = client.post(f"/report/{report_id}", json={"format": "json", "content": measurement(n)})
        assert response.status_code == 200, response.text
        uids.append(response.json()["measurement_uid"])
    assert len(set(uids)) == 3
    assert client.post(f"/report/{report_id}/close").json() == {"status": "success"}
    assert client.post(f"/report/{report_id}/close").status_code == 200  # closing twice is harmless
    stop(client)
    rows = stored_rows(tmp_path)
    assert sorted(row["measurement_uid"] for row in rows) == sorted(uids)
    for row in rows:
        assert row["report_id"] == report_id and row["source"] == "collector"
        raw = orjson.loads(row["raw"])
        assert raw["report_id"] == report_id  # filled in from the URL
        assert raw["measurement_uid"] == row["measurement_uid"]


def test_retry_gets_the_same_uid_and_is_stored_once(make_client: Callable[..., TestClient], tmp_path: Path) -> None:
    client = make_client()
    report_id = open_report(client)
    body = {"format": "json", "content": measurement(7)}
    first = client.post(f"/report/{report_id}", json=body).json()
    second = client.post(f"/report/{report_id}", json=body).json()
    assert first == second
    other = client.post(f"/report/{report_id}", json={"format": "json", "content": measurement(8)}).json()
    assert other != first
    health = client.get("/health").json()
    assert health["accepted"] == 2 and health["duplicates"] == 1
    stop(client)
    assert len(spooled_measurements(tmp_path)) == 2
    assert len(stored_rows(tmp_path)) == 2


def test_large_measurement_within_the_limit(make_client: Callable[..., TestClient], tmp_path: Path) -> None:
    client = make_client(max_body=2 * 1024 * 1024)
    report_id = open_report(client)
    body = {"format": "json", "content": measurement(1, test_keys={"body": "b" * 1_000_000})}
    first = client.post(f"/report/{report_id}", json=body)
    assert first.status_code == 200, first.text
    assert client.post(f"/report/{report_id}", json=body).json() == first.json()
    stop(client)
    rows = stored_rows(tmp_path)
    assert len(rows) == 1 and len(orjson.loads(rows[0]["raw"])["test_keys"]["body"]) == 1_000_000


def test_state_survives_a_restart(make_client: Callable[..., TestClient], tmp_path: Path) -> None:
    client = make_client()
    closed, still_open = open_report(client), open_report(client)
    body = {"format": "json", "content": measurement(1)}
    uid = client.post(f"/report/{closed}", json=body).json()["measurement_uid"]
    client.post(f"/report/{closed}/close")
    stop(client)

    client = make_client()
    # The retry of an acknowledged submission still answers the same uid, the report stays closed.
    assert client.post(f"/report/{closed}", json=body).json() == {"measurement_uid": uid}
    refused = client.post(f"/report/{closed}", json={"format": "json", "content": measurement(2)})
    assert refused.status_code == 409 and refused.json() == {"error": "report is closed"}
    accepted = client.post(f"/report/{still_open}", json={"format": "json", "content": measurement(3)})
    assert accepted.status_code == 200
    assert client.get("/health").json()["replayed_at_start"] == 0  # the first run had caught up
    stop(client)
    assert len(stored_rows(tmp_path)) == 2


def test_a_new_store_gets_the_whole_spool(make_client: Callable[..., TestClient], tmp_path: Path) -> None:
    client = make_client()
    report_id = open_report(client)
    for n in range(4):
        client.post(f"/report/{report_id}", json={"format": "json", "content": measurement(n)})
    stop(client)
    (tmp_path / "c.duckdb").unlink()
    client = make_client()
    assert client.get("/health").json()["replayed_at_start"] == 4
    stop(client)
    assert len(stored_rows(tmp_path)) == 4


def test_inactive_reports_are_closed(make_client: Callable[..., TestClient]) -> None:
    client = make_client(stale_after=0.3)
    idle = open_report(client)
    busy = open_report(client)
    deadline = time.monotonic() + 10
    n = 0
    while client.get("/health").json()["reports_open"] > 1 and time.monotonic() < deadline:
        n += 1
        assert client.post(f"/report/{busy}", json={"format": "json", "content": measurement(n)}).status_code == 200
        time.sleep(0.05)
    refused = client.post(f"/report/{idle}", json={"format": "json", "content": measurement(0)})
    assert refused.status_code == 409
    assert client.post(f"/report/{busy}", json={"format": "json", "content": measurement(0)}).status_code == 200


def test_token_guards_submission_only(make_client: Callable[..., TestClient]) -> None:
    client = make_client(token="s3cret-token")
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic s3cret-token"},
                    {"Authorization": "Bearer s3cret-token-and-more"}):
        response = client.post("/report", json=OPEN, headers=headers)
        assert response.status_code == 401, headers
        assert response.json() == {"error": "missing or wrong bearer token"}
        assert response.headers["www-authenticate"] == "Bearer"
    good = {"Authorization": "Bearer s3cret-token"}
    report_id = open_report(client, headers=good)
    body = {"format": "json", "content": measurement()}
    assert client.post(f"/report/{report_id}", json=body).status_code == 401
    assert client.post(f"/report/{report_id}/close").status_code == 401
    assert client.post(f"/report/{report_id}", json=body, headers=good).status_code == 200
    assert client.post(f"/report/{report_id}/close", headers=good).status_code == 200
    assert client.get("/health").status_code == 200
    assert client.get("/openapi.json").status_code == 200


def test_openapi_documents_the_bodies(make_client: Callable[..., TestClient]) -> None:
    schema = make_client().get("/openapi.json").json()
    submit = schema["paths"]["/report/{report_id}"]["post"]
    assert "content" in submit["requestBody"]["content"]["application/json"]["schema"]["properties"]
    opened = schema["paths"]["/report"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert {"probe_cc", "probe_asn", "test_name"} <= set(opened["properties"])


def _chunks(total: int) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield b" " * 1024
        sent += 1024


JSON = {"content-type": "application/json"}


# (name, path, headers, body, expected status); "{open}" / "{closed}" become real report ids.
BAD_INPUTS: list[tuple[str, str, dict[str, str], Any, int]] = [
    ("malformed JSON", "/report/{open}", JSON, b'{"format": "json", "content": {', 400),
    ("empty body", "/report/{open}", JSON, b"", 400),
    ("array instead of object", "/report/{open}", JSON, b"[]", 400),
    ("not UTF-8", "/report/{open}", JSON, b'{"format":"json","content":{"test_name":"\xff"}}', 400),
    ("missing content", "/report/{open}", JSON, {"format": "json"}, 400),
    ("content not an object", "/report/{open}", JSON, {"format": "json", "content": "{}"}, 400),
    ("yaml format", "/report/{open}", JSON, {"format": "yaml", "content": measurement()}, 400),
    ("missing format", "/report/{open}", JSON, {"content": measurement()}, 400),
    ("missing test_name", "/report/{open}", JSON, {"format": "json", "content": {"probe_cc": "IT"}}, 400),
    ("wrong test_name", "/report/{open}", JSON, {"format": "json", "content": measurement(test_name="tor")}, 400),
    ("test_name wrongly typed", "/report/{open}", JSON, {"format": "json", "content": measurement(test_name=5)}, 400),
    ("probe_cc mismatch", "/report/{open}", JSON, {"format": "json", "content": measurement(probe_cc="DE")}, 400),
    ("probe_asn wrongly typed", "/report/{open}", JSON, {"format": "json", "content": measurement(probe_asn=1)}, 400),
    ("test_keys not an object", "/report/{open}", JSON, {"format": "json", "content": measurement(test_keys=[])},
     400),
    ("report_id mismatch", "/report/{open}", JSON, {"format": "json", "content": measurement(report_id="other")},
     400),
    ("unknown report", "/report/20261125T070000Z_dnscheck_IT_1_n1_nope", JSON,
     {"format": "json", "content": measurement()}, 404),
    ("closed report", "/report/{closed}", JSON, {"format": "json", "content": measurement(99)}, 409),
    ("dots in report id", "/report/..a", JSON, {"format": "json", "content": measurement()}, 400),
    ("percent in report id", "/report/a%25b", JSON, {"format": "json", "content": measurement()}, 400),
    ("encoded slash in report id", "/report/a%2Fb", JSON, {"format": "json", "content": measurement()}, 404),
    ("slash in report id", "/report/a/b", JSON, {"format": "json", "content": measurement()}, 404),
    ("text/plain", "/report/{open}", {"content-type": "text/plain"}, {"format": "json", "content": measurement()},
     415),
    ("form", "/report", {"content-type": "application/x-www-form-urlencoded"}, OPEN, 415),
    ("gzip", "/report/{open}", {**JSON, "content-encoding": "gzip"}, {"format": "json", "content": measurement()},
     415),
    ("announced too big", "/report/{open}", {**JSON, "content-length": "5000"}, b"x" * 5000, 413),
    ("streamed too big", "/report/{open}", JSON, "chunked", 413),
    ("open: missing field", "/report", JSON, {k: v for k, v in OPEN.items() if k != "probe_asn"}, 400),
    ("open: wrong type", "/report", JSON, {**OPEN, "probe_cc": ["IT"]}, 400),
    ("open: bad cc", "/report", JSON, {**OPEN, "probe_cc": "ITA"}, 400),
    ("open: bad json", "/report", JSON, b"{", 400),
    ("close unknown", "/report/nope/close", JSON, b"", 404),
    ("close bad id", "/report/a.b/close", JSON, b"", 400),
]


@pytest.mark.parametrize(
    ("name", "path", "headers", "body", "status"), BAD_INPUTS, ids=[row[0] for row in BAD_INPUTS]
)
def test_bad_input_is_refused_and_nothing_stored(
    make_client: Callable[..., TestClient], tmp_path: Path,
    name: str, path: str, headers: dict[str, str], body: Any, status: int,
) -> None:
    client = make_client(max_body=4096)
    open_id, closed_id = open_report(client), open_report(client)
    client.post(f"/report/{closed_id}/close")
    url = path.format(open=open_id, closed=closed_id)
    if body == "chunked":
        response = client.post(url, content=_chunks(8192), headers=headers)
    elif isinstance(body, bytes):
        response = client.post(url, content=body, headers=headers)
    else:
        response = client.post(url, content=orjson.dumps(body), headers=headers)
    assert response.status_code == status, response.text
    assert set(response.json()) == {"error"} and response.json()["error"]
    health = client.get("/health").json()
    assert health["accepted"] == 0 and health["reports_open"] == 1
    stop(client)
    assert spooled_measurements(tmp_path) == []
    assert stored_rows(tmp_path) == []


FIELD_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(max_size=20), st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
)


def _dumps(value: Any) -> bytes:
    return json.dumps(value).encode()  # unlike orjson, lets integers beyond 64 bits through


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, str, dict[str, str], bytes]:
    method = draw(st.sampled_from(["GET", "POST", "POST", "POST", "PUT", "DELETE"]))
    path = draw(st.sampled_from(["/report", "/report/{open}", "/report/{open}/close", "/health", "/report/{x}",
                                 "/report/{x}/close", "/openapi.json", "/{x}"]))
    # Any text, percent-encoded as a client would send it (slashes and dots left as they are).
    path = path.replace("{x}", quote(draw(st.text(min_size=1, max_size=12)), safe="/.%_-~"))
    headers = {}
    if draw(st.booleans()):
        headers["content-type"] = draw(st.sampled_from(["application/json", "text/plain", "application/json; x=1",
                                                        "", "multipart/form-data"]))
    shape = draw(st.sampled_from(["open", "submit", "json", "bytes"]))
    if shape == "open":
        fields = {**OPEN, **draw(st.dictionaries(st.sampled_from(sorted(OPEN)), FIELD_VALUES, max_size=3))}
        body = _dumps(fields)
    elif shape == "submit":
        content = draw(st.one_of(FIELD_VALUES, st.builds(measurement, st.integers(0, 3)),
                                 st.dictionaries(st.sampled_from(["test_name", "probe_cc", "probe_asn", "report_id",
                                                                  "test_keys", "probe_ip", "input"]), FIELD_VALUES)))
        body = _dumps({"format": draw(st.sampled_from(["json", "yaml", 1])), "content": content})
    elif shape == "json":
        body = _dumps(draw(FIELD_VALUES))
    else:
        body = draw(st.binary(max_size=64))
    return method, path, headers, body


def test_fuzzed_requests_never_cause_a_server_error(make_client: Callable[..., TestClient]) -> None:
    client = make_client(token="t0ken", max_body=2048)
    auth = {"Authorization": "Bearer t0ken"}
    open_id = open_report(client, headers=auth)

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(requests(), st.booleans())
    def check(request: tuple[str, str, dict[str, str], bytes], authorised: bool) -> None:
        method, path, headers, body = request
        if authorised:
            headers = {**headers, **auth}
        response = client.request(method, path.replace("{open}", open_id), content=body, headers=headers)
        assert response.status_code < 500, (method, path, response.text)
        if response.status_code >= 400:
            assert "error" in response.json()

    check()
    assert client.get("/health").json()["status"] == "ok"
