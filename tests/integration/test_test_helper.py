"""The test helper on loopback against the lab's real DNS and origin servers (no iptables needed)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from censorwatch.lab import Lab
from censorwatch.services.test_helper import BackgroundTestHelper, HelperConfig
from censorwatch.services.test_helper.config import parse_hostport

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab(tmp_path_factory.mktemp("lab"), use_iptables=False) as running:
        yield running


def helper(lab: Lab, **overrides: Any) -> BackgroundTestHelper:
    settings: dict[str, Any] = {"resolver": parse_hostport(lab.resolver, "resolver"), "ca_file": lab.ca_file}
    settings.update(overrides)
    return BackgroundTestHelper(HelperConfig(**settings))


@pytest.fixture(scope="module")
def th(lab: Lab) -> Iterator[BackgroundTestHelper]:
    with helper(lab) as running:
        yield running


def control(th: BackgroundTestHelper, url: str, tcp_connect: list[str] | None = None) -> dict[str, Any]:
    reply = httpx.post(
        th.url,
        json={"http_request": url, "http_request_headers": {"User-Agent": ["t"]}, "tcp_connect": tcp_connect or []},
        timeout=30,
    )
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "application/json"
    data: dict[str, Any] = reply.json()
    return data


def endpoint(url: str, ip: str = "127.0.0.1") -> str:
    return f"{ip}:{url.rsplit(':', 1)[1].strip('/')}"


def test_shape_of_an_http_answer(lab: Lab, th: BackgroundTestHelper) -> None:
    url = lab.case("ok-http").url
    data = control(th, url)
    assert set(data) == {"dns", "tcp_connect", "tls_handshake", "http_request", "ip_info"}
    assert data["dns"] == {"failure": None, "addrs": ["127.0.0.1"]}
    assert data["tcp_connect"] == {endpoint(url): {"status": True, "failure": None}}
    assert data["tls_handshake"] == {}
    http = data["http_request"]
    assert set(http) == {"body_length", "status_code", "headers", "title", "failure", "discovered_h3_endpoint"}
    assert http["status_code"] == 200 and http["failure"] is None
    assert http["title"] == "Censorwatch lab site ok-http"
    assert http["body_length"] == int(http["headers"]["Content-Length"]) > 1000
    assert data["ip_info"] == {"127.0.0.1": {"asn": 0, "flags": 2 | 4}}


def test_https_handshake_per_endpoint_with_sni(lab: Lab, th: BackgroundTestHelper) -> None:
    url = lab.case("ok-https").url
    data = control(th, url)
    host = url.split("/")[2].split(":")[0]
    assert data["tls_handshake"] == {endpoint(url): {"server_name": host, "status": True, "failure": None}}
    assert data["http_request"]["status_code"] == 200


def test_probe_endpoints_are_measured_too(lab: Lab, th: BackgroundTestHelper) -> None:
    url = lab.case("ok-http").url
    forged = endpoint(url, "127.0.0.66")  # nothing listens there
    data = control(th, url, [forged])
    assert data["tcp_connect"][forged] == {"status": False, "failure": "connection_refused"}
    assert data["tcp_connect"][endpoint(url)]["status"] is True
    assert data["ip_info"]["127.0.0.66"] == {"asn": 0, "flags": 1 | 4}


def test_site_down_gives_minus_one(lab: Lab, th: BackgroundTestHelper) -> None:
    data = control(th, lab.case("site-down").url)
    assert data["http_request"]["failure"] == "connection_refused"
    assert data["http_request"]["status_code"] == -1
    assert data["http_request"]["body_length"] == -1


def test_nxdomain_uses_the_legacy_name(lab: Lab, th: BackgroundTestHelper) -> None:
    data = control(th, "http://nowhere.lab.censorwatch.test:1/")
    assert data["dns"] == {"failure": "dns_name_error", "addrs": []}
    assert data["http_request"]["failure"] == "dns_nxdomain_error"


def test_helper_sees_the_honest_network(lab: Lab, th: BackgroundTestHelper) -> None:
    """Bound to 127.0.0.1, the helper gets the real page where the censored source gets a blockpage."""
    data = control(th, lab.case("http-blockpage").url)
    assert data["http_request"]["title"] == "Censorwatch lab site http-blockpage"


def test_untrusted_certificate(lab: Lab) -> None:
    with helper(lab, ca_file=None) as no_lab_ca:
        data = control(no_lab_ca, lab.case("ok-https").url)
    (result,) = data["tls_handshake"].values()
    assert result["status"] is False and result["failure"] == "ssl_unknown_authority"
    assert data["http_request"]["failure"] == "ssl_unknown_authority"


def test_endless_body_is_capped(lab: Lab) -> None:
    with helper(lab, body_limit=1 << 20) as small:
        data = control(small, lab.case("huge-body").url)
    assert data["http_request"]["body_length"] == 1 << 20
    assert data["http_request"]["title"] == "Censorwatch lab site huge-body"


def test_dynamic_page_keeps_its_title(lab: Lab, th: BackgroundTestHelper) -> None:
    first, second = (control(th, lab.case("dynamic").url)["http_request"] for _ in range(2))
    assert first["title"] == second["title"]


class _Redirects(BaseHTTPRequestHandler):
    """/N redirects to /N-1, /0 to /final."""

    def do_GET(self) -> None:
        if self.path == "/final":
            self.send_response(200)
            self.send_header("Content-Length", "20")
            self.end_headers()
            self.wfile.write(b"<title>final</title>")
            return
        hops = int(self.path.strip("/") or 0)
        self.send_response(302)
        self.send_header("Location", "/final" if hops == 0 else f"/{hops - 1}")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def redirector() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Redirects)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_redirects_followed_up_to_the_cap(lab: Lab, redirector: str) -> None:
    with helper(lab, max_redirects=3) as capped:
        ok = control(capped, f"{redirector}/2")["http_request"]
        too_many = control(capped, f"{redirector}/5")["http_request"]
    assert (ok["status_code"], ok["title"]) == (200, "final")
    assert too_many["failure"] == "http_too_many_redirects" and too_many["status_code"] == -1


@pytest.mark.parametrize(
    ("method", "path", "content", "status"),
    [
        ("POST", "/", b"{", 400),
        ("POST", "/", b'{"http_request": "gopher://x/"}', 400),
        ("GET", "/", b"", 405),
        ("POST", "/other", b"{}", 404),
        ("POST", "/", b"x" * (70 * 1024), 413),
    ],
)
def test_bad_requests_get_json_errors(
    th: BackgroundTestHelper, method: str, path: str, content: bytes, status: int
) -> None:
    reply = httpx.request(method, th.url.rstrip("/") + path, content=content, timeout=10)
    assert reply.status_code == status
    assert isinstance(reply.json()["error"], str)


def test_concurrency_limit_queues_instead_of_failing(lab: Lab) -> None:
    url = lab.case("ok-http").url
    results: list[int] = []
    with helper(lab, max_concurrent=1) as single:

        def ask() -> None:
            results.append(control(single, url)["http_request"]["status_code"])

        threads = [threading.Thread(target=ask) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert results == [200, 200, 200, 200]


def test_cli_rejects_bad_listen(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from censorwatch.cli.main import app

    result = CliRunner().invoke(app, ["test-helper", "--listen", "nonsense"])
    assert result.exit_code == 2
    assert "HOST:PORT" in result.output
    result = CliRunner().invoke(app, ["test-helper", "--listen", "127.0.0.1:0", "--ca-file", str(tmp_path / "no")])
    assert result.exit_code == 2


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts connections and never answers (a hung or hostile site)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield sock.getsockname()[1]
    sock.close()


def test_hung_site_times_out_per_step(lab: Lab, silent_server: int) -> None:
    with helper(lab, http_timeout=0.5, tls_timeout=0.5) as quick:
        started = time.monotonic()
        http = control(quick, f"http://127.0.0.1:{silent_server}/")
        https = control(quick, f"https://127.0.0.1:{silent_server}/")
    assert time.monotonic() - started < 5
    assert http["http_request"]["failure"] == "generic_timeout_error"
    assert http["tcp_connect"][f"127.0.0.1:{silent_server}"]["status"] is True
    assert https["tls_handshake"][f"127.0.0.1:{silent_server}"]["failure"] == "generic_timeout_error"


def test_slow_client_is_dropped(lab: Lab) -> None:
    with helper(lab, client_timeout=0.3) as strict:
        host, port = strict.server.address
        with socket.create_connection((host, port), timeout=5) as sock:
            sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
            started = time.monotonic()
            assert sock.recv(100) == b""  # closed by the helper, no reply
            assert time.monotonic() - started < 3


def test_loopback_only_helper_never_dials_out(lab: Lab) -> None:
    with helper(lab, loopback_only=True) as lab_helper:
        data = control(lab_helper, "http://192.0.2.1:80/", ["192.0.2.1:80", "198.51.100.7:443"])
    assert data["http_request"]["failure"].startswith("unknown_failure: address outside loopback")
    assert all(not result["status"] for result in data["tcp_connect"].values())
    assert set(data["tcp_connect"]) == {"192.0.2.1:80", "198.51.100.7:443"}
