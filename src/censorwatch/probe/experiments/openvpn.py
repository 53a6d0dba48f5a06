"""OpenVPN (ooni/spec nettests/ts-040-openvpn.md): one handshake against each endpoint the user
gives, with Debian's `openvpn` binary (OONI uses its own minivpn), and test_keys as probe-cli's
openvpn experiment v0.1.4 writes them: `success`, `failure`, `bootstrap_time`, `tunnel`,
`tcp_connect` (TCP only), `openvpn_handshake` and `network_events` (minivpn's stage names).

Only the control channel is tested: the client runs with `--dev null` (no tun device, no root,
no address or route touches this machine) and is killed once the control channel is up
(_openvpn_process.py says why that is the success signal). It binds the probe's source address.

Section (probe-endpoints.yaml `openvpn`):
    timeout: seconds for one handshake (default 30)
    endpoints:
      - provider: a label (OONI: `unknown...` for a provider it does not know)
        address: "IP:PORT"            the server (an IP literal, as OONI's input)
        transport: udp | tcp
        protocol: openvpn             (openvpn+obfs4 is not supported)
        ca / cert / key: PEM text or a file path (cert and key: the client's credentials)
        tls_auth + key_direction (default 1), or tls_crypt: PEM text or a file path
        cipher: e.g. AES-256-GCM      (--data-ciphers)   auth: e.g. SHA512 (--auth)
        remote_cert_tls: true         (check the server certificate's TLS server usage)
OONI Probe gets its endpoints and client certificates from OONI's API as a registered probe
(/api/v2/ooniprobe/vpn-config/{provider}); censorwatch is not one, so the shipped section lists
none and the user gives their own provider's with --endpoints.
"""

from __future__ import annotations

import ipaddress
import re
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from censorwatch.probe.endpoints_file import EndpointsError
from censorwatch.probe.experiment import ExperimentContext, finish, new_measurement
from censorwatch.probe.experiments._openvpn_process import (
    MANAGEMENT_NAME,
    HandshakeRun,
    OpenVPNConfigError,
    openvpn_binary,
    run_handshake,
)

TEST_NAME = "openvpn"
TEST_VERSION = "0.1.4"  # the probe-cli version whose test_keys these are
TAKES_URLS = False

DEFAULT_TIMEOUT = 30.0
_STARTUP_MARGIN = 10.0  # process start, management attach, kill
_OPTION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:_-]{0,63}$")
_PROVIDER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
_NO_ENDPOINT = (
    "openvpn: the endpoints file lists no OpenVPN endpoint. OONI Probe takes its endpoints and client "
    "certificates from OONI's API as a registered probe, which censorwatch is not: write your own "
    "provider's endpoint (address, transport, ca, cert, key) in an `openvpn` section and pass the "
    "file with `--endpoints FILE` (docs/probe-endpoints.md)"
)


@dataclass(frozen=True)
class OpenVPNEndpoint:
    provider: str
    ip: str
    port: int
    transport: str  # udp | tcp
    ca: str
    cert: str
    key: str
    tls_auth: str | None = None
    key_direction: int = 1
    tls_crypt: str | None = None
    cipher: str | None = None
    auth: str | None = None
    remote_cert_tls: bool = True

    @property
    def address(self) -> str:
        return f"[{self.ip}]:{self.port}" if ":" in self.ip else f"{self.ip}:{self.port}"

    @property
    def input(self) -> str:
        """OONI's input URI (ts-040)."""
        return f"openvpn://{self.provider}.corp/?address={self.address}&transport={self.transport}"

    @property
    def uri(self) -> str:
        """The `endpoint` of an openvpn_handshake entry (ts-040)."""
        return f"openvpn://{self.address}/{self.transport}"


# --- the section ------------------------------------------------------------------------------------------------


def inputs(section: Mapping[str, Any]) -> list[str | None]:
    return [endpoint.input for endpoint in parse_endpoints(section)]


def handshake_timeout(section: Mapping[str, Any]) -> float:
    value = section.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise EndpointsError("openvpn: `timeout` must be a positive number of seconds")
    return float(value)


def deadline(context: ExperimentContext) -> float:
    return handshake_timeout(context.section) + _STARTUP_MARGIN


def parse_endpoints(section: Mapping[str, Any]) -> list[OpenVPNEndpoint]:
    handshake_timeout(section)
    raw = section.get("endpoints") or []
    if not isinstance(raw, list):
        raise EndpointsError("openvpn: `endpoints` must be a list")
    if not raw:
        raise EndpointsError(_NO_ENDPOINT)
    return [_endpoint(entry, f"openvpn: endpoints[{index}]") for index, entry in enumerate(raw)]


def _endpoint(entry: object, where: str) -> OpenVPNEndpoint:
    if not isinstance(entry, Mapping):
        raise EndpointsError(f"{where} must be a mapping with address, transport, ca, cert, key")
    unknown = set(entry) - {"provider", "address", "transport", "protocol", "ca", "cert", "key", "tls_auth",
                            "key_direction", "tls_crypt", "cipher", "auth", "remote_cert_tls"}
    if unknown:
        raise EndpointsError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    protocol = entry.get("protocol", "openvpn")
    if protocol != "openvpn":
        raise EndpointsError(f"{where}.protocol: only `openvpn` is supported, not {protocol!r}")
    provider = entry.get("provider", "unknown")
    if not isinstance(provider, str) or not _PROVIDER.match(provider):
        raise EndpointsError(f"{where}.provider must be a label of letters, digits, '-' and '_'")
    ip, port = _address(entry.get("address"), f"{where}.address")
    transport = entry.get("transport")
    if transport not in ("udp", "tcp"):
        raise EndpointsError(f"{where}.transport must be `udp` or `tcp`")
    if entry.get("tls_auth") is not None and entry.get("tls_crypt") is not None:
        raise EndpointsError(f"{where}: give `tls_auth` or `tls_crypt`, not both")
    key_direction = entry.get("key_direction", 1)
    if key_direction not in (0, 1) or isinstance(key_direction, bool):
        raise EndpointsError(f"{where}.key_direction must be 0 or 1")
    remote_cert_tls = entry.get("remote_cert_tls", True)
    if not isinstance(remote_cert_tls, bool):
        raise EndpointsError(f"{where}.remote_cert_tls must be true or false")
    return OpenVPNEndpoint(
        provider=provider, ip=ip, port=port, transport=transport,
        ca=_certificates(entry, "ca", where), cert=_certificates(entry, "cert", where),
        key=_private_key(entry, where),
        tls_auth=_static_key(entry, "tls_auth", where), key_direction=key_direction,
        tls_crypt=_static_key(entry, "tls_crypt", where),
        cipher=_option(entry, "cipher", where), auth=_option(entry, "auth", where),
        remote_cert_tls=remote_cert_tls,
    )


def _address(value: object, where: str) -> tuple[str, int]:
    if not isinstance(value, str):
        raise EndpointsError(f"{where} must be a string IP:PORT")
    host, sep, port_text = value.rpartition(":")
    host = host.strip("[]")
    try:
        ip = str(ipaddress.ip_address(host))
        port = int(port_text)
    except ValueError as error:
        raise EndpointsError(f"{where} {value!r} is not IP:PORT (OONI's endpoints are IP literals)") from error
    if not sep or not 0 < port < 65536:
        raise EndpointsError(f"{where} {value!r} is not IP:PORT")
    return ip, port


def _option(entry: Mapping[str, Any], name: str, where: str) -> str | None:
    value = entry.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not _OPTION.match(value):
        raise EndpointsError(f"{where}.{name} must be an OpenVPN name such as AES-256-GCM or SHA512")
    return value


def _pem(entry: Mapping[str, Any], name: str, where: str) -> str | None:
    """PEM text given inline, or read from the file the value names."""
    value = entry.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise EndpointsError(f"{where}.{name} must be PEM text or a file path")
    if "-----BEGIN" in value:
        return value.strip() + "\n"
    path = Path(value).expanduser()
    try:
        return path.read_text(encoding="ascii").strip() + "\n"
    except (OSError, UnicodeDecodeError) as error:
        raise EndpointsError(f"{where}.{name}: cannot read {path}: {error}") from error


def _certificates(entry: Mapping[str, Any], name: str, where: str) -> str:
    text = _pem(entry, name, where)
    if text is None:
        raise EndpointsError(f"{where}.{name} is missing (PEM text or a file path)")
    try:
        x509.load_pem_x509_certificates(text.encode())
    except ValueError as error:
        raise EndpointsError(f"{where}.{name} holds no PEM certificate: {error}") from error
    return text


def _private_key(entry: Mapping[str, Any], where: str) -> str:
    text = _pem(entry, "key", where)
    if text is None:
        raise EndpointsError(f"{where}.key is missing (PEM text or a file path; username/password "
                             "providers are not supported)")
    try:
        serialization.load_pem_private_key(text.encode(), password=None)
    except TypeError as error:
        raise EndpointsError(f"{where}.key is encrypted; give the key without a passphrase") from error
    except ValueError as error:
        raise EndpointsError(f"{where}.key holds no PEM private key: {error}") from error
    return text


def _static_key(entry: Mapping[str, Any], name: str, where: str) -> str | None:
    text = _pem(entry, name, where)
    if text is not None and "OpenVPN Static key V1" not in text:
        raise EndpointsError(f"{where}.{name} is not an OpenVPN static key (-----BEGIN OpenVPN Static key V1-----)")
    return text


# --- the client configuration -----------------------------------------------------------------------------------


def client_config(endpoint: OpenVPNEndpoint, source_address: str | None, timeout: float, directory: Path) -> str:
    """An OpenVPN client configuration that changes nothing on this machine and gives up in time."""
    # OpenVPN's own limits lie beyond ours: our deadline decides, and kills it.
    seconds = round(timeout) + 10
    lines = [
        "client",  # tls-client + pull: what a provider's server expects
        "dev null",  # no tun device: no root needed, no address, no route
        "ifconfig-noexec",
        "route-noexec",
        "route-nopull",
        "script-security 0",
        f"proto {'udp' if endpoint.transport == 'udp' else 'tcp-client'}",
        f"remote {endpoint.ip} {endpoint.port}",
        "connect-retry-max 1",
        f"connect-timeout {seconds}",
        f"server-poll-timeout {seconds}",
        f"hand-window {seconds}",
        "auth-nocache",
        "verb 3",
        f"management {directory / MANAGEMENT_NAME} unix",
        "management-hold",
    ]
    # The censor decides by source address: the client must leave from the probe's.
    lines += [f"local {source_address}", "lport 0"] if source_address else ["nobind"]
    if endpoint.remote_cert_tls:
        lines.append("remote-cert-tls server")
    if endpoint.cipher:
        lines.append(f"data-ciphers {endpoint.cipher}")
    if endpoint.auth:
        lines.append(f"auth {endpoint.auth}")
    blocks = [("ca", endpoint.ca), ("cert", endpoint.cert), ("key", endpoint.key)]
    if endpoint.tls_auth:
        lines.append(f"key-direction {endpoint.key_direction}")
        blocks.append(("tls-auth", endpoint.tls_auth))
    if endpoint.tls_crypt:
        blocks.append(("tls-crypt", endpoint.tls_crypt))
    inline = [f"<{name}>\n{text}</{name}>" for name, text in blocks]
    return "\n".join(lines + inline) + "\n"


# --- the measurement --------------------------------------------------------------------------------------------


async def measure(input: str | None, context: ExperimentContext) -> dict[str, Any]:
    t0 = time.monotonic()
    measurement = new_measurement(TEST_NAME, TEST_VERSION, input, context)
    endpoint = _endpoint_for(input, context.section)
    timeout = handshake_timeout(context.section)
    binary = openvpn_binary()
    if binary is None:
        raise EndpointsError("openvpn: the `openvpn` binary is not installed (Debian: apt install openvpn)")
    with tempfile.TemporaryDirectory(prefix="cw-openvpn-") as name:
        directory = Path(name)  # 0700: the configuration holds the client's private key
        config_file = directory / "client.conf"
        config_file.touch(mode=0o600)
        config_file.write_text(client_config(endpoint, context.config.source_address, timeout, directory))
        try:
            run = await run_handshake(binary, config_file, directory, timeout, t0, endpoint.transport == "tcp")
        except OpenVPNConfigError as error:
            raise EndpointsError(f"openvpn: {endpoint.input}: {error}") from error
    if run.version:
        measurement["annotations"]["openvpn_version"] = run.version
    return finish(measurement, test_keys(endpoint, run), t0)


def _endpoint_for(input: str | None, section: Mapping[str, Any]) -> OpenVPNEndpoint:
    endpoints = parse_endpoints(section)
    if input is None:
        if len(endpoints) == 1:
            return endpoints[0]
        raise EndpointsError("openvpn: several endpoints; say which one (its input URI)")
    for endpoint in endpoints:
        if endpoint.input == input:
            return endpoint
    parts = urlsplit(input)
    query = parse_qs(parts.query)
    for endpoint in endpoints:  # the same endpoint written another way (OONI's provider label aside)
        if query.get("address") == [endpoint.address] and query.get("transport") == [endpoint.transport]:
            return endpoint
    raise EndpointsError(f"openvpn: no endpoint in the section matches {input!r}")


def test_keys(endpoint: OpenVPNEndpoint, run: HandshakeRun) -> dict[str, Any]:
    failure = None if run.connected else run.failure
    events = run.events
    handshake: dict[str, Any] = {
        "handshake_time": round(events[-1].t - events[0].t, 6) if events else 0.0,
        "endpoint": endpoint.uri,
        "failure": failure,
        "ip": endpoint.ip,
        "port": endpoint.port,
        "transport": endpoint.transport,
        "provider": endpoint.provider,
        "openvpn_options": {name: value for name, value in (("auth", endpoint.auth), ("cipher", endpoint.cipher))
                            if value},
        "t": events[-1].t if events else 0.0,
        "tags": [],
        "transaction_id": 1,
    }
    if events:
        handshake["t0"] = events[0].t  # probe-cli omits an empty t0
    keys: dict[str, Any] = {
        "success": run.connected,
        "network_events": [
            {"operation": "state", "stage": event.stage, "t": event.t, "tags": [], "packet": None,
             "transaction_id": 1}
            for event in events
        ],
        "openvpn_handshake": [handshake],
        "tunnel": "openvpn",
        "failure": failure,
    }
    if endpoint.transport == "tcp" and run.tcp_started is not None:
        keys["tcp_connect"] = [_tcp_connect(endpoint, run)]
    if run.connected and run.connected_at is not None:
        keys["bootstrap_time"] = run.connected_at  # probe-cli: since the measurement began; absent on failure
    return keys


def _tcp_connect(endpoint: OpenVPNEndpoint, run: HandshakeRun) -> dict[str, Any]:
    """df-005 as measurexlite writes it for the dial OpenVPN made."""
    connected = run.tcp_done is not None and run.tcp_failure is None
    return {
        "ip": endpoint.ip,
        "port": endpoint.port,
        "status": {"failure": None if connected else (run.tcp_failure or run.failure), "success": connected},
        "t0": run.tcp_started,
        "t": run.tcp_done if run.tcp_done is not None else run.ended,
        "tags": [],
        "transaction_id": 1,
    }
