"""Vanilla Tor (ooni/spec nettests/ts-016-vanilla-tor.md): start Debian's tor with a fresh
DataDirectory and see whether it bootstraps to 100% before the timeout. test_keys as probe-cli's
vanilla_tor (v0.3.0) writes them: the bootstrap log lines (the same selection as probe-cli's
torlogs), the last progress reached, `success`, `error` ("timeout-reached" / "unknown-error"),
`failure`, `bootstrap_time`, `timeout`, `tor_version`, `transport_name` "vanilla".

Section (probe-endpoints.yaml `vanilla_tor`):
    timeout: seconds to wait for 100% (probe-cli: 200)
    tor: the tor binary (default "tor")
    torrc: extra torrc lines, [] for tor's defaults (a lab gives DirAuthority, Bridge, TestingTorNetwork)

When the probe has a source address, tor's connections go through a SOCKS5 relay that binds it
(tor does not apply OutboundBindAddress to loopback destinations)."""

from __future__ import annotations

import asyncio
import re
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from censorwatch.model import failures
from censorwatch.probe.endpoints_file import EndpointsError
from censorwatch.probe.experiment import ExperimentContext, finish, new_measurement
from censorwatch.probe.experiments._socks_relay import SocksRelay
from censorwatch.probe.experiments._tor_process import ProcessError, read_line, running

TEST_NAME = "vanilla_tor"
TEST_VERSION = "0.3.0"
TAKES_URLS = False

DEFAULT_TIMEOUT = 200.0  # probe-cli's maxRuntime (the older ooniprobe 2.x used 300 s)

# probe-cli's torlogs selection of bootstrap lines, and its parse of progress, tag and summary.
BOOTSTRAP_LINE = re.compile(r"^[A-Za-z0-9.: ]+ \[notice\] Bootstrapped ([0-9]+)% \(([A-Za-z_]+)\): ([A-Za-z0-9 ]+)$")
VERSION_LINE = re.compile(r"\[notice\] Tor (\d+\.\d+\.\d+\.\d+\S*) ")
# Lines of our own torrc the section may not override: they keep the run isolated and readable.
RESERVED_OPTIONS = frozenset({"datadirectory", "log", "runasdaemon", "socksport", "controlport"})


@dataclass(frozen=True)
class VanillaTorSection:
    timeout: float
    tor: str
    torrc: tuple[str, ...]


def parse_section(section: Mapping[str, Any]) -> VanillaTorSection:
    timeout = section.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise EndpointsError("vanilla_tor: `timeout` must be a positive number of seconds")
    binary = section.get("tor", "tor")
    if not isinstance(binary, str) or not binary:
        raise EndpointsError("vanilla_tor: `tor` must be the tor binary's name or path")
    lines = section.get("torrc", []) or []
    if not isinstance(lines, list) or not all(isinstance(line, str) and "\n" not in line for line in lines):
        raise EndpointsError("vanilla_tor: `torrc` must be a list of torrc lines (strings)")
    for line in lines:
        option = line.split(maxsplit=1)[0].lower() if line.strip() else ""
        if option in RESERVED_OPTIONS:
            raise EndpointsError(f"vanilla_tor: `torrc` may not set {line.split()[0]} (the test sets it)")
    return VanillaTorSection(float(timeout), binary, tuple(lines))


def inputs(section: Mapping[str, Any]) -> list[str | None]:
    parse_section(section)
    return [None]


def torrc(workdir: Path, section: VanillaTorSection, proxy_port: int | None) -> str:
    lines = [
        f"DataDirectory {workdir / 'data'}",
        "SocksPort 127.0.0.1:auto",
        "Log notice stdout",
        "RunAsDaemon 0",
        "AvoidDiskWrites 1",
    ]
    if proxy_port is not None:
        lines.append(f"Socks5Proxy 127.0.0.1:{proxy_port}")
    return "\n".join([*lines, *section.torrc]) + "\n"


@dataclass
class Bootstrap:
    logs: list[str]
    version: str = ""
    done_after: float | None = None  # seconds from start to 100%
    failure: str | None = None
    error: str | None = None


async def _watch(process: asyncio.subprocess.Process, deadline: float, started: float, seen: Bootstrap) -> None:
    loop = asyncio.get_running_loop()
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise TimeoutError
        line = await read_line(process, remaining)
        if line is None:
            code = await process.wait()
            seen.failure = failures.unknown(f"tor exited with status {code} before bootstrapping")
            seen.error = "unknown-error"
            return
        if not seen.version and (match := VERSION_LINE.search(line)):
            seen.version = match.group(1).rstrip(".")
        parsed = BOOTSTRAP_LINE.match(line)
        if parsed:
            seen.logs.append(line)
            if parsed.group(1) == "100":
                seen.done_after = time.monotonic() - started
                return


async def bootstrap(section: VanillaTorSection, source_address: str | None, connect_timeout: float) -> Bootstrap:
    seen = Bootstrap(logs=[])
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    deadline = loop.time() + section.timeout
    relay = SocksRelay(source_address, connect_timeout, started) if source_address else None
    with tempfile.TemporaryDirectory(prefix="censorwatch-vanilla-tor-") as name:
        workdir = Path(name)
        try:
            proxy_port = await relay.start() if relay is not None else None
            (workdir / "torrc").write_text(torrc(workdir, section, proxy_port), encoding="utf-8")
            (workdir / "defaults").write_text("", encoding="utf-8")
            argv = [section.tor, "--defaults-torrc", str(workdir / "defaults"), "-f", str(workdir / "torrc")]
            async with running(argv, cwd=workdir) as process:
                try:
                    await _watch(process, deadline, started, seen)
                except TimeoutError:
                    seen.failure, seen.error = failures.GENERIC_TIMEOUT, "timeout-reached"
        except ProcessError as error:
            seen.failure, seen.error = failures.unknown(str(error)), "unknown-error"
        finally:
            if relay is not None:
                await relay.close()
    return seen


def vanilla_test_keys(seen: Bootstrap, timeout: float) -> dict[str, Any]:
    last = BOOTSTRAP_LINE.match(seen.logs[-1]) if seen.logs else None
    success = seen.done_after is not None
    return {
        "bootstrap_time": round(seen.done_after, 6) if success and seen.done_after is not None else 0,
        "error": None if success else seen.error,
        "failure": None if success else seen.failure,
        "success": success,
        "timeout": timeout,
        "tor_logs": seen.logs,
        "tor_progress": int(last.group(1)) if last else 0,
        "tor_progress_tag": last.group(2) if last else "",
        "tor_progress_summary": last.group(3) if last else "",
        "tor_version": seen.version,
        "transport_name": "vanilla",
    }


async def measure(input: str | None, context: ExperimentContext) -> dict[str, Any]:
    section = parse_section(context.section)
    t0 = time.monotonic()
    measurement = new_measurement(TEST_NAME, TEST_VERSION, input, context)
    seen = await bootstrap(section, context.config.source_address, context.config.timeout)
    return finish(measurement, vanilla_test_keys(seen, section.timeout), t0)
