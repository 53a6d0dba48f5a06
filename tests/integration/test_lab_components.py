"""Each lab component on real loopback sockets: the censored source (127.0.0.2) and an honest one (127.0.0.1)
get different treatment."""

from __future__ import annotations

import csv
import json
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import dns.message
import dns.query
import dns.rcode
import pytest

from censorwatch.lab import Lab
from censorwatch.lab.iptables import iptables_usable
from censorwatch.lab.sites import LEGAL_NOTICE, LOOKALIKE_NOTICE, RU_BLOCKPAGE_FINGERPRINT

pytestmark = pytest.mark.integration

CENSORED = "127.0.0.2"
HONEST = "127.0.0.1"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab(tmp_path_factory.mktemp("lab"), use_iptables=False) as running:
        yield running


def parts(lab: Lab, case: str) -> tuple[str, int]:
    split = urlsplit(lab.case(case).url)
    assert split.hostname is not None and split.port is not None
    return split.hostname, split.port


def resolve(lab: Lab, name: str, source: str, tcp: bool = False) -> tuple[int, list[str]]:
    host, port = lab.resolver.split(":")
    query = dns.message.make_query(name, "A")
    send = dns.query.tcp if tcp else dns.query.udp
    reply = send(query, host, port=int(port), source=source, timeout=3)
    return reply.rcode(), [item.to_text() for rrset in reply.answer for item in rrset]


def http_get(ip: str, port: int, host: str, source: str, timeout: float = 3) -> bytes:
    with socket.create_connection((ip, port), timeout=timeout, source_address=(source, 0)) as sock:
        sock.sendall(f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def tls_connect(lab: Lab, port: int, sni: str, source: str) -> str:
    context = ssl.create_default_context(cafile=str(lab.ca_file))
    with (
        socket.create_connection((HONEST, port), timeout=3, source_address=(source, 0)) as raw,
        context.wrap_socket(raw, server_hostname=sni) as tls,
    ):
        return str(tls.version())


@pytest.mark.parametrize("tcp", [False, True])
@pytest.mark.parametrize(
    ("case", "censored_answer"),
    [
        ("dns-blockpage", (0, ["127.0.0.3"])),
        ("dns-blockpage-lookalike", (0, ["127.0.0.3"])),
        ("dns-nxdomain", (dns.rcode.NXDOMAIN, [])),
        ("dns-forged", (0, ["127.0.0.66"])),
        ("ok-http", (0, ["127.0.0.1"])),
    ],
)
def test_dns_depends_on_the_source(lab: Lab, case: str, censored_answer: tuple[int, list[str]], tcp: bool) -> None:
    name, _ = parts(lab, case)
    assert resolve(lab, name, HONEST, tcp) == (0, ["127.0.0.1"])
    assert resolve(lab, name, CENSORED, tcp) == censored_answer


def test_every_answer_is_loopback(lab: Lab) -> None:
    for case in lab.cases:
        name, _ = parts(lab, case.name)
        for source in (HONEST, CENSORED):
            for address in resolve(lab, name, source)[1]:
                assert address.startswith("127.")


def test_dns_blockpage_server_carries_the_fingerprint(lab: Lab) -> None:
    name, port = parts(lab, "dns-blockpage")
    assert RU_BLOCKPAGE_FINGERPRINT.encode() in http_get("127.0.0.3", port, name, CENSORED)
    assert b"Censorwatch lab site dns-blockpage" in http_get(HONEST, port, name, CENSORED)


def test_blockpage_text_is_a_real_ooni_ru_fingerprint(shared_data: Path) -> None:
    path = shared_data / "fingerprints" / "ooni_backend_fastpath_copy" / "fingerprints_http.json"
    entries = json.loads(path.read_text(encoding="utf-8"))
    matching = [e for e in entries if e["pattern"] == RU_BLOCKPAGE_FINGERPRINT]
    assert matching and matching[0]["name"] == "ooni.ru_0"
    assert "RU" in matching[0]["expected_countries"].split(",") and matching[0]["location_found"] == "body"


def test_forged_address_refuses(lab: Lab) -> None:
    name, port = parts(lab, "dns-forged")
    with pytest.raises(ConnectionRefusedError):
        http_get("127.0.0.66", port, name, CENSORED)


def test_site_down_refuses_everyone(lab: Lab) -> None:
    name, port = parts(lab, "site-down")
    for source in (HONEST, CENSORED):
        with pytest.raises(ConnectionRefusedError):
            http_get(HONEST, port, name, source)


def test_reset_after_accept_only_for_the_censored_source(lab: Lab) -> None:
    name, port = parts(lab, "tcp-reset-after-accept")
    assert b"200 OK" in http_get(HONEST, port, name, HONEST)
    with pytest.raises(ConnectionResetError):
        http_get(HONEST, port, name, CENSORED)


def test_sni_reset(lab: Lab) -> None:
    name, port = parts(lab, "tls-sni-reset")
    assert tls_connect(lab, port, name, HONEST).startswith("TLS")
    assert tls_connect(lab, port, "other.lab.censorwatch.test", CENSORED).startswith("TLS")  # only that SNI
    with pytest.raises(ConnectionResetError):
        tls_connect(lab, port, name, CENSORED)


def test_mitm_certificate_for_the_censored_source(lab: Lab) -> None:
    name, port = parts(lab, "tls-mitm")
    assert tls_connect(lab, port, name, HONEST).startswith("TLS")
    with pytest.raises(ssl.SSLCertVerificationError, match=r"unable to get local issuer|self.signed"):
        tls_connect(lab, port, name, CENSORED)


def test_injected_blockpage(lab: Lab) -> None:
    name, port = parts(lab, "http-blockpage")
    censored = http_get(HONEST, port, name, CENSORED)
    honest = http_get(HONEST, port, name, HONEST)
    assert RU_BLOCKPAGE_FINGERPRINT.encode() in censored
    assert RU_BLOCKPAGE_FINGERPRINT.encode() not in honest and b"200 OK" in honest


def header_names(response: bytes) -> set[str]:
    head = response.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")[1:]
    return {line.split(":", 1)[0].lower() for line in head}


def test_lookalike_blockpage_copies_the_origins_headers(lab: Lab) -> None:
    name, port = parts(lab, "dns-blockpage-lookalike")
    blockpage = http_get("127.0.0.3", port, name, CENSORED)
    origin = http_get(HONEST, port, name, HONEST)
    assert LOOKALIKE_NOTICE.encode() in blockpage and b"200 OK" in blockpage
    assert header_names(blockpage) == header_names(origin)
    assert b"Server: censorwatch-lab" in blockpage and b"X-Lab-Site: dns-blockpage-lookalike\r\n" in blockpage


def test_injected_legal_notice_has_the_origins_header_names(lab: Lab) -> None:
    name, port = parts(lab, "http-legal-notice")
    censored = http_get(HONEST, port, name, CENSORED)
    honest = http_get(HONEST, port, name, HONEST)
    assert LEGAL_NOTICE.encode() in censored and b"200 OK" in censored
    assert LEGAL_NOTICE.encode() not in honest
    assert header_names(censored) == header_names(honest)


@pytest.mark.parametrize("case", ["news-about-blocking", "ab-variant"])
def test_normal_pages_differ_by_source(lab: Lab, case: str) -> None:
    name, port = parts(lab, case)
    censored = http_get(HONEST, port, name, CENSORED)
    honest = http_get(HONEST, port, name, HONEST)
    assert censored != honest
    assert header_names(censored) == header_names(honest)


def test_host_header_reset(lab: Lab) -> None:
    name, port = parts(lab, "http-host-reset")
    assert b"200 OK" in http_get(HONEST, port, name, HONEST)
    assert b"200 OK" in http_get(HONEST, port, "other.lab.censorwatch.test", CENSORED)
    with pytest.raises(ConnectionResetError):
        http_get(HONEST, port, name, CENSORED)


def test_dynamic_page_changes_but_keeps_its_title(lab: Lab) -> None:
    name, port = parts(lab, "dynamic")
    bodies = [http_get(HONEST, port, name, HONEST).split(b"\r\n\r\n", 1)[1] for _ in range(6)]
    assert len(set(bodies)) == 6
    assert all(b"<title>Censorwatch lab dynamic site dynamic</title>" in body for body in bodies)
    lengths = [len(body) for body in bodies]
    assert min(lengths) / max(lengths) > 0.7  # OONI's body_length_match threshold


def test_huge_body_never_ends(lab: Lab) -> None:
    name, port = parts(lab, "huge-body")
    with socket.create_connection((HONEST, port), timeout=3) as sock:
        sock.sendall(f"GET / HTTP/1.1\r\nHost: {name}\r\n\r\n".encode())
        received = 0
        while received < 8 << 20:
            chunk = sock.recv(1 << 16)
            assert chunk
            received += len(chunk)


def test_test_list_and_ca(lab: Lab, tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    lab.write_test_list(path)
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["url", "category_code", "category_description", "date_added", "source", "notes"]
    urls = {row["url"] for row in rows}
    assert urls == {case.url for case in lab.cases if not case.needs_root}  # iptables is off here
    assert lab.ca_file.read_text().startswith("-----BEGIN CERTIFICATE-----")


def test_censored_source_must_be_loopback(tmp_path: Path) -> None:
    for bad in ("10.0.0.2", "127.0.0.1", "::1"):
        with pytest.raises(ValueError, match="censored source"):
            Lab(tmp_path, censored_source=bad)


@pytest.fixture
def root_lab(tmp_path: Path) -> Iterator[Lab]:
    if not iptables_usable():
        pytest.skip("needs root and a working iptables")
    with Lab(tmp_path, use_iptables=True) as running:
        yield running


@pytest.mark.root
def test_iptables_drop_and_reject_only_for_the_censored_source(root_lab: Lab) -> None:
    drop_name, drop_port = parts(root_lab, "tcp-drop")
    reject_name, reject_port = parts(root_lab, "tcp-reject")
    assert b"200 OK" in http_get(HONEST, drop_port, drop_name, HONEST)
    assert b"200 OK" in http_get(HONEST, reject_port, reject_name, HONEST)
    with pytest.raises(TimeoutError):
        http_get(HONEST, drop_port, drop_name, CENSORED, timeout=1)
    with pytest.raises(ConnectionRefusedError):
        http_get(HONEST, reject_port, reject_name, CENSORED)
    assert root_lab._firewall is not None
    chain = root_lab._firewall.chain
    assert f"-A {chain}" in root_lab._firewall.rules()


@pytest.mark.root
def test_iptables_rules_are_removed_on_stop(tmp_path: Path) -> None:
    if not iptables_usable():
        pytest.skip("needs root and a working iptables")
    import subprocess

    lab = Lab(tmp_path, use_iptables=True)
    lab.start()
    assert lab._firewall is not None
    chain = lab._firewall.chain
    assert chain in subprocess.run(["iptables", "-S"], capture_output=True, text=True, check=True).stdout
    lab.stop()
    lab.stop()  # idempotent
    assert chain not in subprocess.run(["iptables", "-S"], capture_output=True, text=True, check=True).stdout


def test_dns_survives_a_burst_of_concurrent_queries(lab: Lab) -> None:
    """A probe with many URLs in flight sends bursts; none may be lost (regression: a small UDP buffer)."""
    import asyncio

    import dns.asyncquery

    host, port = lab.resolver.split(":")
    name, _ = parts(lab, "dns-forged")
    query = dns.message.make_query(name, "A")

    async def burst() -> list[object]:
        jobs = [dns.asyncquery.udp(query, host, port=int(port), source=CENSORED, timeout=2) for _ in range(300)]
        return list(await asyncio.gather(*jobs, return_exceptions=True))

    replies = asyncio.run(burst())
    assert all(isinstance(reply, dns.message.Message) for reply in replies)
    assert {reply.answer[0][0].to_text() for reply in replies if isinstance(reply, dns.message.Message)} == {
        "127.0.0.66"
    }
