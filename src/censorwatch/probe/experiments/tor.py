"""Tor (ooni/spec nettests/ts-023-tor.md): reach Tor's directory authorities (their OR port with a
TLS handshake, their directory port with a consensus GET), other OR ports (TLS) and obfs4 bridges
(a real obfs4 handshake through Debian's obfs4proxy), and write test_keys as probe-cli's tor
experiment (v0.4.0) does: one entry per target under `targets`, keyed as OONI's backend keys its
tor-targets list (the address for authorities and relays, the SHA-256 of the bridge line for
bridges), and the per-protocol `*_total`/`*_accessible` counts.

Section (probe-endpoints.yaml `tor`):
    authorities: [{name, address, or_port, dir_port, fingerprint}]   -> or_port_dirauth + dir_port
    relays: ["IP:PORT", ...]                                          -> or_port
    bridges: ["obfs4 IP:PORT FINGERPRINT cert=... iat-mode=N", ...]   -> obfs4
    timeout: seconds per target (probe-cli: 15)
    obfs4proxy: the binary (default "obfs4proxy")
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import ssl
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h11

from censorwatch.model import failures
from censorwatch.model.failure_map import failure_of
from censorwatch.probe.config import ProbeConfig
from censorwatch.probe.endpoints import close, endpoint, open_stream, tls_details
from censorwatch.probe.endpoints_file import EndpointsError
from censorwatch.probe.experiment import ExperimentContext, elapsed, finish, new_measurement
from censorwatch.probe.experiments import _obfs4
from censorwatch.probe.experiments._socks_relay import Relayed, SocksRelay
from censorwatch.probe.experiments._tor_process import ProcessError
from censorwatch.probe.http_fetch import encode_body

TEST_NAME = "tor"
TEST_VERSION = "0.4.0"
TAKES_URLS = False

PARALLELISM = 2  # as probe-cli
DEFAULT_TIMEOUT = 15.0  # probe-cli's bound on the obfs4 handshake and the dir_port GET
BODY_SNAPSHOT = 256  # probe-cli keeps 1 << 8 bytes of the consensus
CONSENSUS_PATH = "/tor/status-vote/current/consensus.z"
PROTOCOLS = ("dir_port", "obfs4", "or_port_dirauth", "or_port")

# SOCKS5 reply codes obfs4proxy gives (goptlib's ErrorToReplyCode) back to failure strings.
_FAILURE_OF_REPLY = {3: failures.NETWORK_UNREACHABLE, 4: failures.HOST_UNREACHABLE,
                     5: failures.CONNECTION_REFUSED, 6: failures.GENERIC_TIMEOUT}


@dataclass(frozen=True)
class Target:
    key: str
    protocol: str
    address: str  # IP:PORT ([IPv6]:PORT)
    name: str = ""
    params: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ip_port(self) -> tuple[str, int]:
        host, _, port = self.address.rpartition(":")
        return host.strip("[]"), int(port)


@dataclass(frozen=True)
class TorSection:
    targets: list[Target]
    timeout: float
    obfs4proxy: str


def _address(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise EndpointsError(f"tor: {where} must be a string IP:PORT")
    host, sep, port = value.rpartition(":")
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
        number = int(port)
    except ValueError as error:
        raise EndpointsError(f"tor: {where} {value!r} is not IP:PORT") from error
    if not sep or not 0 < number < 65536:
        raise EndpointsError(f"tor: {where} {value!r} is not IP:PORT")
    return endpoint(str(ip), number)


def _port(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        raise EndpointsError(f"tor: {where} must be a port number")
    return value


def _list(section: Mapping[str, Any], key: str) -> list[Any]:
    value = section.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise EndpointsError(f"tor: `{key}` must be a list")
    return value


def parse_bridge(line: object, where: str) -> Target:
    """A torrc-style bridge line, keyed as OONI's backend keys it (sha256 of the line)."""
    if not isinstance(line, str):
        raise EndpointsError(f"tor: {where} must be a bridge line string")
    words = line.split()
    if len(words) < 3 or words[0] != "obfs4":
        raise EndpointsError(f"tor: {where} must read `obfs4 IP:PORT FINGERPRINT cert=... iat-mode=N` "
                             "(only obfs4 bridges are measured, as in OONI)")
    params: dict[str, list[str]] = {}
    for word in words[3:]:
        key, sep, value = word.partition("=")
        if sep:
            params.setdefault(key, []).append(value)
    if "cert" not in params:
        raise EndpointsError(f"tor: {where} has no cert=")
    return Target(hashlib.sha256(line.encode()).hexdigest(), "obfs4", _address(words[1], f"{where} address"),
                  "", params)


def parse_section(section: Mapping[str, Any]) -> TorSection:
    targets: list[Target] = []
    for i, entry in enumerate(_list(section, "authorities")):
        where = f"authorities[{i}]"
        if not isinstance(entry, Mapping):
            raise EndpointsError(f"tor: {where} must be a mapping with name, address, or_port, dir_port")
        name = entry.get("name", "")
        if not isinstance(name, str):
            raise EndpointsError(f"tor: {where}.name must be a string")
        ip = entry.get("address")
        try:
            ip = str(ipaddress.ip_address(str(ip)))
        except ValueError as error:
            raise EndpointsError(f"tor: {where}.address must be an IP address") from error
        or_address = endpoint(ip, _port(entry.get("or_port"), f"{where}.or_port"))
        targets.append(Target(or_address, "or_port_dirauth", or_address, name))
        if entry.get("dir_port") is not None:
            dir_address = endpoint(ip, _port(entry.get("dir_port"), f"{where}.dir_port"))
            targets.append(Target(dir_address, "dir_port", dir_address, name))
    for i, relay in enumerate(_list(section, "relays")):
        address = _address(relay, f"relays[{i}]")
        targets.append(Target(address, "or_port", address))
    for i, line in enumerate(_list(section, "bridges")):
        targets.append(parse_bridge(line, f"bridges[{i}]"))
    seen: set[str] = set()
    for target in targets:
        if target.key in seen:
            # OONI keys targets by address (bridges by line): a second one would hide the first
            raise EndpointsError(f"tor: the target {target.key} is listed twice")
        seen.add(target.key)
    if not targets:
        raise EndpointsError("tor: the section names no target (`authorities`, `relays` or `bridges`)")
    timeout = section.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise EndpointsError("tor: `timeout` must be a positive number of seconds")
    binary = section.get("obfs4proxy", "obfs4proxy")
    if not isinstance(binary, str) or not binary:
        raise EndpointsError("tor: `obfs4proxy` must be the obfs4proxy binary's name or path")
    return TorSection(targets, float(timeout), binary)


def inputs(section: Mapping[str, Any]) -> list[str | None]:
    parse_section(section)
    return [None]


# --- one target -------------------------------------------------------------------------------------------------


def _result(target: Target) -> dict[str, Any]:
    result: dict[str, Any] = {
        "agent": "redirect",
        "failure": None,
        "network_events": None,
        "queries": None,
        "requests": None,
        "summary": {},
        "target_address": target.address,
        "target_protocol": target.protocol,
        "tcp_connect": None,
        "tls_handshakes": None,
    }
    if target.name:
        result["target_name"] = target.name
    return result


def _tcp_entry(ip: str, port: int, failure: str | None, t: float) -> dict[str, Any]:
    return {"ip": ip, "port": port, "status": {"failure": failure, "success": failure is None}, "t": t}


def _connect_event(address: str, failure: str | None, t: float) -> dict[str, Any]:
    return {"address": address, "failure": failure, "operation": "connect", "proto": "tcp", "t": t}


def _fill_summary(result: dict[str, Any]) -> None:
    """probe-cli's fillSummary: connect from the first tcp_connect; handshake from the obfs4 result
    or the first TLS handshake."""
    tcp = result.get("tcp_connect") or []
    if not tcp:
        return
    summary: dict[str, Any] = {"connect": {"failure": tcp[0]["status"]["failure"]}}
    if result["target_protocol"] == "obfs4":
        summary["handshake"] = {"failure": result["failure"]}
    elif result["target_protocol"] in ("or_port", "or_port_dirauth") and result.get("tls_handshakes"):
        summary["handshake"] = {"failure": result["tls_handshakes"][0]["failure"]}
    result["summary"] = summary


def _no_verify_context() -> ssl.SSLContext:
    # Relays present self-signed link certificates: OONI sets InsecureSkipVerify and sends no SNI.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


async def _connect(target: Target, result: dict[str, Any], config: ProbeConfig,
                   t0: float) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
    ip, port = target.ip_port
    try:
        stream = await open_stream(ip, port, config)
    except (OSError, TimeoutError) as error:
        failure = failure_of(error)
        result["tcp_connect"] = [_tcp_entry(ip, port, failure, elapsed(t0))]
        result["network_events"] = [_connect_event(target.address, failure, elapsed(t0))]
        result["failure"] = failure
        return None
    result["tcp_connect"] = [_tcp_entry(ip, port, None, elapsed(t0))]
    result["network_events"] = [_connect_event(target.address, None, elapsed(t0))]
    return stream


async def _or_port(target: Target, result: dict[str, Any], config: ProbeConfig, t0: float) -> None:
    stream = await _connect(target, result, config, t0)
    if stream is None:
        return
    _, writer = stream
    started = elapsed(t0)
    handshake: dict[str, Any] = {"address": target.address, "cipher_suite": "", "failure": None,
                                 "negotiated_protocol": "", "no_tls_verify": True, "peer_certificates": [],
                                 "server_name": "", "t0": started, "tls_version": ""}
    try:
        await asyncio.wait_for(writer.start_tls(_no_verify_context(), server_hostname=None,
                                                ssl_handshake_timeout=config.timeout + 5.0), config.timeout)
        handshake.update(tls_details(writer))
    except (OSError, TimeoutError, ssl.SSLError, EOFError) as error:
        handshake["failure"] = result["failure"] = failure_of(error)
        writer.transport.abort()
    else:
        await close(writer)
    handshake["t"] = elapsed(t0)
    result["tls_handshakes"] = [handshake]


async def _dir_port(target: Target, result: dict[str, Any], config: ProbeConfig, t0: float) -> None:
    url = f"http://{target.address}{CONSENSUS_PATH}"
    headers = [("Host", target.address), ("User-Agent", config.user_agent),
               ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
               ("Accept-Language", "en-US;q=0.8,en;q=0.5")]
    entry: dict[str, Any] = {
        "failure": None,
        "request": {"body": "", "body_is_truncated": False, "headers": dict(headers),
                    "headers_list": [list(h) for h in headers], "method": "GET",
                    "tor": {"exit_ip": None, "exit_name": None, "is_tor": False}, "url": url},
        "response": {"body": "", "body_is_truncated": False, "code": 0, "headers": {}, "headers_list": []},
        "t0": elapsed(t0),
    }
    result["requests"] = [entry]
    stream = await _connect(target, result, config, t0)
    if stream is None:
        entry["failure"] = result["failure"]
        entry["t"] = elapsed(t0)
        return
    reader, writer = stream
    try:
        conn = h11.Connection(h11.CLIENT)
        writer.write(conn.send(h11.Request(method="GET", target=CONSENSUS_PATH, headers=headers)) or b"")
        writer.write(conn.send(h11.EndOfMessage()) or b"")
        await asyncio.wait_for(writer.drain(), config.timeout)
        response = await _next(conn, reader, config.timeout)
        while isinstance(response, h11.InformationalResponse):
            response = await _next(conn, reader, config.timeout)
        if not isinstance(response, h11.Response):
            raise EOFError("no response")
        body = bytearray()
        truncated = False
        while True:
            part = await _next(conn, reader, config.timeout)
            if isinstance(part, h11.Data):
                body += part.data
                if len(body) > BODY_SNAPSHOT:
                    truncated = True
                    break
            else:
                break
        header_list = [[k.decode("latin-1"), v.decode("latin-1")] for k, v in response.headers.raw_items()]
        entry["response"] = {"body": encode_body(bytes(body[:BODY_SNAPSHOT])), "body_is_truncated": truncated,
                             "code": response.status_code, "headers": dict(header_list),
                             "headers_list": header_list}
    except h11.RemoteProtocolError:
        entry["failure"] = result["failure"] = failures.HTTP_INVALID_RESPONSE
    except (OSError, TimeoutError, EOFError) as error:
        entry["failure"] = result["failure"] = failure_of(error)
    finally:
        writer.transport.abort()
        await close(writer)
    entry["t"] = elapsed(t0)


async def _next(conn: h11.Connection, reader: asyncio.StreamReader, timeout: float) -> Any:
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            return event
        data = await asyncio.wait_for(reader.read(64 * 1024), timeout)
        if not data and conn.their_state is h11.SEND_RESPONSE:
            raise EOFError("the server closed before answering")
        conn.receive_data(data)


class Obfs4Client:
    """One obfs4proxy client (and the relay it dials through) for all bridges of a measurement,
    started on the first bridge and stopped when the measurement ends."""

    def __init__(self, binary: str, workdir: Path, relay: SocksRelay) -> None:
        self.binary, self.workdir, self.relay = binary, workdir, relay
        self._lock = asyncio.Lock()
        self._client: _obfs4.Obfs4Process | None = None
        self._error: str | None = None

    async def get(self) -> _obfs4.Obfs4Process | str:
        async with self._lock:
            if self._client is None and self._error is None:
                try:
                    await self.relay.start()
                    self._client = await _obfs4.start_client(self.binary, self.workdir / "obfs4",
                                                             f"socks5://127.0.0.1:{self.relay.port}")
                except (ProcessError, _obfs4.Obfs4Error, OSError, TimeoutError) as error:
                    self._error = failures.unknown(f"obfs4proxy: {error}")
            return self._client if self._client is not None else str(self._error)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
        await self.relay.close()


async def _obfs4_target(target: Target, result: dict[str, Any], obfs4: Obfs4Client, timeout: float) -> None:
    client = await obfs4.get()
    if isinstance(client, str):
        result["failure"] = client
        return
    host, port = target.ip_port
    failure: str | None = None
    try:
        await asyncio.wait_for(_obfs4.handshake(client, host, port, target.params), timeout)
    except TimeoutError:
        failure = failures.GENERIC_TIMEOUT
    except _obfs4.SocksRefused as refused:
        failure = _FAILURE_OF_REPLY.get(refused.code, failures.unknown("obfs4 handshake failed"))
    except (OSError, asyncio.IncompleteReadError) as error:
        failure = failures.unknown(f"obfs4proxy: {failure_of(error)}")
    relayed = _settled(obfs4.relay.to(target.address))
    if relayed is not None:
        await _wait_done(relayed)
        if not relayed.events:
            # we gave up while the relay's connect was still pending: a connect timeout
            relayed.connect_failure = failures.GENERIC_TIMEOUT
            relayed.event("connect", failures.GENERIC_TIMEOUT)
        ip, port_ = target.ip_port
        t = next((e["t"] for e in relayed.events if e["operation"] == "connect"), 0.0)
        result["tcp_connect"] = [_tcp_entry(ip, port_, relayed.connect_failure, t)]
        result["network_events"] = [dict(e) for e in relayed.events]
        if failure is not None:
            # What the relay saw on the wire names the failure better than obfs4proxy's SOCKS reply.
            failure = relayed.connect_failure or relayed.read_failure() or failure
    result["failure"] = failure


def _settled(connections: list[Relayed]) -> Relayed | None:
    return connections[-1] if connections else None


async def _wait_done(relayed: Relayed) -> None:
    # On success the connection stays open until obfs4proxy notices our SOCKS client left.
    if relayed.connect_failure is None and not relayed.read_failure():
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(relayed.done.wait(), 1.0)


async def _measure_target(target: Target, section: TorSection, config: ProbeConfig, obfs4: Obfs4Client,
                          t0: float) -> dict[str, Any]:
    result = _result(target)
    try:
        if target.protocol == "obfs4":
            await _obfs4_target(target, result, obfs4, section.timeout)
        elif target.protocol == "dir_port":
            await asyncio.wait_for(_dir_port(target, result, config, t0), section.timeout)
        else:
            await asyncio.wait_for(_or_port(target, result, config, t0), section.timeout)
    except TimeoutError:
        result["failure"] = failures.GENERIC_TIMEOUT
    _fill_summary(result)
    return result


def tor_test_keys(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    keys: dict[str, Any] = {}
    for protocol in PROTOCOLS:
        ran = [r for r in results.values() if r["target_protocol"] == protocol]
        keys[f"{protocol}_total"] = len(ran)
        keys[f"{protocol}_accessible"] = sum(1 for r in ran if r["failure"] is None)
    keys["targets"] = results
    return keys


async def measure(input: str | None, context: ExperimentContext) -> dict[str, Any]:
    section = parse_section(context.section)
    t0 = time.monotonic()
    measurement = new_measurement(TEST_NAME, TEST_VERSION, input, context)
    config = context.config
    semaphore = asyncio.Semaphore(PARALLELISM)
    with tempfile.TemporaryDirectory(prefix="censorwatch-tor-") as workdir:
        obfs4 = Obfs4Client(section.obfs4proxy, Path(workdir),
                            SocksRelay(config.source_address, config.timeout, t0))

        async def one(target: Target) -> tuple[str, dict[str, Any]]:
            async with semaphore:
                return target.key, await _measure_target(target, section, config, obfs4, t0)

        try:
            pairs = await asyncio.gather(*(one(target) for target in section.targets))
        finally:
            await obfs4.close()
    return finish(measurement, tor_test_keys(dict(pairs)), t0)
