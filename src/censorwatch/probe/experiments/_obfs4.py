"""obfs4proxy as a managed pluggable transport (Tor's pt-spec), without tor: as a client it opens a
SOCKS5 port whose CONNECT performs the obfs4 handshake with the bridge named in the request (the
bridge's cert and iat-mode travel as SOCKS username/password), and answers success only once the
handshake is done; as a server (the lab's bridge) it prints the port it listens on and writes the
bridge line a client needs into its state directory."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import struct
from dataclasses import dataclass
from pathlib import Path

from censorwatch.probe.experiments._tor_process import read_line, spawn, stop

START_TIMEOUT = 10.0  # obfs4proxy prints its methods in milliseconds; a generous bound


class Obfs4Error(RuntimeError):
    pass


@dataclass
class Obfs4Process:
    process: asyncio.subprocess.Process
    host: str
    port: int

    async def close(self) -> None:
        await stop(self.process)


def _pt_env(state_dir: Path, **extra: str) -> dict[str, str]:
    state_dir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOR_PT_")}
    env.update(TOR_PT_MANAGED_TRANSPORT_VER="1", TOR_PT_STATE_LOCATION=str(state_dir),
               TOR_PT_EXIT_ON_STDIN_CLOSE="1", **extra)
    return env


async def _await_methods(process: asyncio.subprocess.Process, kind: str) -> str:
    """The address of the obfs4 method from `<kind>METHOD obfs4 ...` lines up to `<kind>METHODS DONE`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT
    address: str | None = None
    while True:
        line = await read_line(process, max(0.01, deadline - loop.time()))
        if line is None:
            raise Obfs4Error(f"obfs4proxy exited before announcing its {kind.lower()} methods")
        words = line.split()
        if not words:
            continue
        if words[0].endswith("-ERROR"):
            raise Obfs4Error(f"obfs4proxy: {line}")
        if kind == "C" and words[:2] == ["CMETHOD", "obfs4"] and len(words) >= 4:
            address = words[3]
        elif kind == "S" and words[:2] == ["SMETHOD", "obfs4"] and len(words) >= 3:
            address = words[2]
        elif words[0] == f"{kind}METHODS" and words[1:2] == ["DONE"]:
            if address is None:
                raise Obfs4Error("obfs4proxy announced no obfs4 method")
            return address


def _split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


async def start_client(binary: str, state_dir: Path, proxy: str | None) -> Obfs4Process:
    """`proxy`: the upstream SOCKS5 proxy obfs4proxy must dial through (TOR_PT_PROXY)."""
    extra = {"TOR_PT_CLIENT_TRANSPORTS": "obfs4"}
    if proxy:
        extra["TOR_PT_PROXY"] = proxy
    process = await spawn([binary], _pt_env(state_dir, **extra), cwd=state_dir)
    try:
        host, port = _split(await _await_methods(process, "C"))
    except BaseException:
        await stop(process)
        raise
    return Obfs4Process(process, host, port)


@dataclass
class Obfs4Server(Obfs4Process):
    cert: str
    iat_mode: str


async def start_server(binary: str, state_dir: Path, bind: tuple[str, int], or_port: tuple[str, int]) -> Obfs4Server:
    env = _pt_env(state_dir, TOR_PT_SERVER_TRANSPORTS="obfs4",
                  TOR_PT_SERVER_BINDADDR=f"obfs4-{bind[0]}:{bind[1]}",
                  TOR_PT_ORPORT=f"{or_port[0]}:{or_port[1]}")
    process = await spawn([binary], env, cwd=state_dir)
    try:
        host, port = _split(await _await_methods(process, "S"))
        params = bridge_params(state_dir / "obfs4_bridgeline.txt")
    except BaseException:
        await stop(process)
        raise
    return Obfs4Server(process, host, port, params["cert"], params.get("iat-mode", "0"))


def bridge_params(bridgeline_file: Path) -> dict[str, str]:
    """cert= and iat-mode= of the `Bridge obfs4 ...` line obfs4proxy writes for its operator."""
    for line in bridgeline_file.read_text(encoding="utf-8").splitlines():
        if line.startswith("Bridge obfs4"):
            params = dict(word.split("=", 1) for word in line.split()[2:] if "=" in word)
            if "cert" in params:
                return params
    raise Obfs4Error(f"no obfs4 bridge line in {bridgeline_file}")


def _escape(value: str) -> str:
    # pt-spec: the arguments are key=value pairs joined by ';' with '\', '=' and ';' escaped.
    return value.replace("\\", "\\\\").replace("=", "\\=").replace(";", "\\;")


def socks_credentials(params: dict[str, list[str]]) -> tuple[bytes, bytes]:
    """The per-connection arguments as SOCKS5 username/password (pt-spec 3.5)."""
    joined = ";".join(f"{_escape(key)}={_escape(value)}" for key, values in params.items() for value in values)
    data = joined.encode("utf-8")
    if len(data) <= 255:
        return data, b"\x00"
    if len(data) > 510:
        raise Obfs4Error("the bridge's arguments exceed what SOCKS5 can carry")
    return data[:255], data[255:]


class SocksRefused(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(f"SOCKS reply {code}")
        self.code = code


async def handshake(client: Obfs4Process, host: str, port: int, params: dict[str, list[str]]) -> None:
    """CONNECT through the obfs4 client: returns once the obfs4 handshake succeeded, raises
    SocksRefused when obfs4proxy reports it failed. The caller bounds it in time."""
    username, password = socks_credentials(params)
    reader, writer = await asyncio.open_connection(client.host, client.port)
    try:
        writer.write(b"\x05\x01\x02")
        await writer.drain()
        if await reader.readexactly(2) != b"\x05\x02":
            raise SocksRefused(1)
        writer.write(bytes([1, len(username)]) + username + bytes([len(password)]) + password)
        await writer.drain()
        _, status = await reader.readexactly(2)
        if status != 0:
            raise SocksRefused(1)
        address = ipaddress.ip_address(host)
        kind = 1 if address.version == 4 else 4
        writer.write(bytes([5, 1, 0, kind]) + address.packed + struct.pack("!H", port))
        await writer.drain()
        _, code, _, bound_kind = await reader.readexactly(4)
        if code != 0:
            raise SocksRefused(code)
        await reader.readexactly((4 if bound_kind == 1 else 16) + 2)
    finally:
        writer.transport.abort()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(writer.wait_closed(), 1.0)
