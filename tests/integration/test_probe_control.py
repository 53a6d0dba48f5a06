"""The control by default: OONI's public test helpers unless --test-helper says otherwise, the
next helper when one fails, and the measurement's `test_helpers` naming the one that answered.
The default list is replaced through CENSORWATCH_TEST_HELPERS by two helpers on loopback, and
every socket the run opens is checked to stay on 127.0.0.0/8."""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from censorwatch.cli.main import app
from censorwatch.probe.public_services import OONI_TEST_HELPERS, TEST_HELPERS_ENV, default_test_helpers
from censorwatch.services.test_helper import BackgroundTestHelper, HelperConfig
from tests.integration.hostile_servers import Servers, ok

pytestmark = pytest.mark.integration
runner = CliRunner()


def _dead_url() -> str:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.fixture
def destinations(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every host this process connects or sends to, or looks up, while the test runs."""
    seen: list[str] = []
    real_connect, real_connect_ex, real_sendto = socket.socket.connect, socket.socket.connect_ex, socket.socket.sendto
    real_getaddrinfo = socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> None:
        seen.append(str(address[0]) if isinstance(address, tuple) else str(address))
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        seen.append(str(address[0]) if isinstance(address, tuple) else str(address))
        return real_connect_ex(self, address)

    def sendto(self: socket.socket, data: bytes, *args: Any) -> int:
        address = args[-1]
        seen.append(str(address[0]) if isinstance(address, tuple) else str(address))
        return real_sendto(self, data, *args)  # type: ignore[arg-type]

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(str(host))
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket.socket, "sendto", sendto)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield seen


def _measurements(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_default_list_is_ooni_unless_overridden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TEST_HELPERS_ENV)
    assert default_test_helpers() == OONI_TEST_HELPERS
    assert OONI_TEST_HELPERS[0] == "https://0.th.ooni.org"
    monkeypatch.setenv(TEST_HELPERS_ENV, "http://127.0.0.1:1/, http://127.0.0.1:2/")
    assert default_test_helpers() == ("http://127.0.0.1:1/", "http://127.0.0.1:2/")


def test_next_helper_when_the_first_is_dead(tmp_path: Path) -> None:
    dead = _dead_url()
    output = tmp_path / "out.jsonl"
    with Servers({"ok": ok}) as servers, BackgroundTestHelper(HelperConfig(loopback_only=True)) as helper:
        urls = [f"{servers.url('ok')}/{i}" for i in range(3)]
        result = runner.invoke(app, ["probe", *urls, "--test-helper", dead, "--test-helper", helper.url,
                                     "--output", str(output), "--db", str(tmp_path / "s.duckdb"), "--timeout", "3"])
    assert result.exit_code == 0, result.output
    for measurement in _measurements(output):
        assert measurement["test_helpers"] == {"backend": {"address": helper.url, "type": "https"}}
        assert measurement["test_keys"]["control_failure"] is None
        assert measurement["test_keys"]["control"]["http_request"]["status_code"] == 200


def test_without_option_the_default_list_is_used_and_nothing_else_contacted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, destinations: list[str]
) -> None:
    dead = _dead_url()
    output = tmp_path / "out.jsonl"
    with Servers({"ok": ok}) as servers, BackgroundTestHelper(HelperConfig(loopback_only=True)) as helper:
        monkeypatch.setenv(TEST_HELPERS_ENV, f"{dead},{helper.url}")
        result = runner.invoke(app, ["probe", servers.url("ok"), "--output", str(output),
                                     "--db", str(tmp_path / "s.duckdb"), "--timeout", "3"])
    assert result.exit_code == 0, result.output
    assert "OONI's public test helpers" in result.output
    [measurement] = _measurements(output)
    assert measurement["test_helpers"]["backend"]["address"] == helper.url
    assert destinations, "the socket spy saw nothing"
    for host in destinations:
        assert host == "localhost" or ipaddress.ip_address(host) in ipaddress.ip_network("127.0.0.0/8"), host


def test_all_helpers_dead_is_a_control_failure(tmp_path: Path) -> None:
    output = tmp_path / "out.jsonl"
    with Servers({"ok": ok}) as servers:
        result = runner.invoke(app, ["probe", servers.url("ok"), "--test-helper", _dead_url(),
                                     "--test-helper", _dead_url(), "--output", str(output),
                                     "--db", str(tmp_path / "s.duckdb"), "--timeout", "2"])
    assert result.exit_code == 0, result.output
    [measurement] = _measurements(output)
    assert measurement["test_keys"]["control_failure"] and measurement["test_helpers"] == {}
