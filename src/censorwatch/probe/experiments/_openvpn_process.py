"""One OpenVPN client handshake with Debian's `openvpn` binary, watched through its management
interface and always killed at the end (success, failure, timeout or cancellation).

Success is the control channel established: our hard reset answered, the TLS handshake and
the key exchange done inside it (minivpn's ACTIVE stage). OpenVPN says so twice: the log line
"Peer Connection Initiated" (long-standing wording) and the management STATE leaving AUTH for
GET_CONFIG (or CONNECTED when nothing is pulled); the first of the two counts. We do not wait
for the pushed options ("Initialization Sequence Completed"): they travel inside the TLS channel
already up, where no censor can tell them from the rest, and a point-to-point server (the lab's:
server mode needs a tun device, hence root) answers one PUSH_REQUEST per process only.

Why the management interface and not stdout alone: its STATE notifications are OpenVPN's
documented machine interface (doc/management-notes.txt), "gave up" is RECONNECTING/EXITING with
OpenVPN's own reason, and `--management-hold` keeps OpenVPN idle until we listen, so nothing is
missed. The log lines come over the same socket, in order, and classify a failure."""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from censorwatch.model import failures

DEBIAN_BINARY = "/usr/sbin/openvpn"
MANAGEMENT_NAME = "management.sock"
_STARTUP_LIMIT = 5.0  # seconds for OpenVPN to parse its options and open the management socket
_KILL_WAIT = 5.0

# States OpenVPN reaches only once the control channel is up.
_CONTROL_UP_STATES = frozenset({"GET_CONFIG", "ASSIGN_IP", "ADD_ROUTES", "CONNECTED"})
_GIVE_UP = frozenset({"RECONNECTING", "EXITING"})

# Log milestones (OpenVPN 2.x wording) mapped to the stages of OONI's
# minivpn (ts-040 network_events): the server answered our hard reset; the control channel is up.
# "Peer Connection Initiated" is logged when the key exchange inside TLS completes.
_SERVER_RESET = "TLS: Initial packet from"
_CONTROL_UP = "Peer Connection Initiated"
_TCP_UP = "TCP connection established with"
_COMPLAINT = re.compile(r"error|unsupported|cannot|unrecognized|invalid|failed", re.IGNORECASE)
_VERSION = re.compile(r"^OpenVPN Version: OpenVPN (\d+\.\d+\S*)")  # the management `version` reply

# Connect/read errors as OpenVPN prints them (strerror text or errno name) -> df-007 failures.
_ERRORS = (
    ("ECONNREFUSED", failures.CONNECTION_REFUSED),
    ("Connection refused", failures.CONNECTION_REFUSED),
    ("Connection reset", failures.CONNECTION_RESET),
    ("ECONNRESET", failures.CONNECTION_RESET),
    ("Connection timed out", failures.GENERIC_TIMEOUT),
    ("No route to host", failures.HOST_UNREACHABLE),
    ("EHOSTUNREACH", failures.HOST_UNREACHABLE),
    ("Network is unreachable", failures.NETWORK_UNREACHABLE),
    ("ENETUNREACH", failures.NETWORK_UNREACHABLE),
)
_UNKNOWN_ISSUER = ("unable to get local issuer certificate", "self-signed", "self signed",
                   "unable to get issuer certificate")
# OpenVPN's reasons for giving up (the SIGUSR1/SIGTERM reason in a RECONNECTING/EXITING state).
_REASONS = {
    "connection-reset": failures.CONNECTION_RESET,
    "tls-error": failures.SSL_FAILED_HANDSHAKE,
    "server_poll": failures.GENERIC_TIMEOUT,
    "connection-timeout": failures.GENERIC_TIMEOUT,
    "ping-restart": failures.GENERIC_TIMEOUT,
    "auth-failure": failures.unknown("openvpn authentication failed"),
}


class OpenVPNConfigError(RuntimeError):
    """OpenVPN refused the configuration (a bad PEM, an unknown cipher): the user's to fix, not the network."""


@dataclass(frozen=True)
class Event:
    t: float  # seconds since the measurement began
    stage: str  # minivpn's stage names: PRE_START, START, ACTIVE


@dataclass
class HandshakeRun:
    connected: bool = False
    failure: str | None = None
    events: list[Event] = field(default_factory=list)
    tcp_started: float | None = None
    tcp_done: float | None = None
    tcp_failure: str | None = None
    connected_at: float | None = None
    ended: float = 0.0
    version: str | None = None


def openvpn_binary() -> str | None:
    return shutil.which("openvpn") or (DEBIAN_BINARY if Path(DEBIAN_BINARY).exists() else None)


def network_failure(line: str) -> str | None:
    """The df-007 failure a log line reports, or None when the line is no failure."""
    if "VERIFY" in line and "ERROR" in line:
        lowered = line.lower()
        if any(text in lowered for text in _UNKNOWN_ISSUER):
            return failures.SSL_UNKNOWN_AUTHORITY
        return failures.SSL_INVALID_CERTIFICATE
    if "TLS key negotiation failed to occur" in line:
        return failures.GENERIC_TIMEOUT
    if "TLS Error: TLS handshake failed" in line or "TLS_ERROR" in line:
        return failures.SSL_FAILED_HANDSHAKE
    if "AUTH_FAILED" in line:
        return failures.unknown("openvpn authentication failed")
    for text, failure in _ERRORS:
        if text in line:
            return failure
    return None


class _Watch:
    """The state machine fed by management lines; says when the handshake is decided."""

    def __init__(self, run: HandshakeRun, t0: float, tcp: bool) -> None:
        self.run, self.t0, self.tcp = run, t0, tcp
        self.errors: deque[str] = deque(maxlen=5)
        self.done = False

    def now(self) -> float:
        return round(time.monotonic() - self.t0, 6)

    def feed(self, line: str) -> None:
        if line.startswith(">STATE:"):
            self._state(line[len(">STATE:"):].split(","))
        elif line.startswith(">LOG:"):
            _, _, rest = line[len(">LOG:"):].partition(",")  # time,flags,message
            flags, _, message = rest.partition(",")
            if "F" in flags or "N" in flags:  # fatal / non-fatal error (management-notes.txt)
                self.errors.append(message)
            self._log(message)
        elif line.startswith(">PASSWORD:"):
            raise OpenVPNConfigError(f"OpenVPN asks for a password ({line[len('>PASSWORD:'):]}); "
                                     "give an unencrypted key (auth-user-pass is not supported)")
        elif line.startswith(">FATAL:"):
            self.errors.append(line[len(">FATAL:"):])
        elif (version := _VERSION.match(line)) and self.run.version is None:
            self.run.version = version.group(1)

    def _state(self, fields: list[str]) -> None:
        state = fields[1] if len(fields) > 1 else ""
        reason = fields[2] if len(fields) > 2 else ""
        t = self.now()
        if state == "TCP_CONNECT" and self.run.tcp_started is None:
            self.run.tcp_started = t
        elif state == "WAIT":
            if self.tcp and self.run.tcp_done is None:
                self.run.tcp_done = t
            self._stage(t, "PRE_START")
        elif state in _CONTROL_UP_STATES:
            self._control_up(t)
        elif state in _GIVE_UP and not self.done:
            self.give_up(reason)

    def _log(self, message: str) -> None:
        t = self.now()
        if message.startswith(_TCP_UP) and self.run.tcp_done is None:
            self.run.tcp_done = t
        elif message.startswith(_SERVER_RESET):
            self._stage(t, "START")
        elif _CONTROL_UP in message:
            self._control_up(t)
            return
        failure = network_failure(message)
        if failure is None or self.done:
            return
        if self.tcp and self.run.tcp_done is None and message.startswith("TCP"):
            self.run.tcp_failure, self.run.tcp_done = failure, t
        if self.run.failure is None:
            self.run.failure = failure
        # An ICMP "port unreachable" on UDP leaves OpenVPN waiting for its hand-window; OONI's
        # minivpn stops at the read error, and so do we.
        if failure == failures.CONNECTION_REFUSED:
            self.done = True

    def _control_up(self, t: float) -> None:
        self._stage(t, "ACTIVE")
        if not self.done:
            self.run.connected, self.run.connected_at, self.done = True, t, True

    def _stage(self, t: float, stage: str) -> None:
        if not any(event.stage == stage for event in self.run.events):
            self.run.events.append(Event(t, stage))

    def give_up(self, reason: str) -> None:
        self.done = True
        if self.run.failure is not None:
            return
        if self.run.tcp_started is None and not self.run.events:
            # It stopped before touching the network: what it refused is the configuration.
            raise OpenVPNConfigError("OpenVPN stopped before connecting: " + (_explain(self.errors) or reason))
        self.run.failure = _REASONS.get(reason) or failures.unknown(f"openvpn {reason or 'gave up'}")

    def timed_out(self) -> None:
        if self.run.failure is None:
            self.run.failure = failures.GENERIC_TIMEOUT
        if self.tcp and self.run.tcp_started is not None and self.run.tcp_done is None and self.run.tcp_failure is None:
            self.run.tcp_failure = failures.GENERIC_TIMEOUT
            self.run.tcp_done = self.now()


async def run_handshake(binary: str, config_file: Path, directory: Path, deadline: float, t0: float,
                        tcp: bool) -> HandshakeRun:
    """Start OpenVPN on `config_file` (which names `directory`/management.sock), release it, and
    wait at most `deadline` seconds for the control channel or a failure. The process never outlives this call."""
    run = HandshakeRun()
    watch = _Watch(run, t0, tcp)
    output: deque[str] = deque(maxlen=40)
    process = await asyncio.create_subprocess_exec(
        binary, "--config", str(config_file), cwd=str(directory),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    drain = asyncio.create_task(_drain(process, output))
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(deadline):
            reader, writer = await _attach(process, directory / MANAGEMENT_NAME, output)
            # Notifications on before the release, so the first state cannot be missed.
            writer.write(b"version\nlog on\nstate on\nhold release\n")
            await writer.drain()
            while not watch.done:
                raw = await reader.readline()
                if not raw:  # OpenVPN exited
                    watch.give_up("exited")
                    break
                watch.feed(raw.decode("utf-8", "replace").rstrip("\r\n"))
    except TimeoutError:
        watch.timed_out()
    finally:
        run.ended = watch.now()
        # Synchronous kill first: even a cancelled task leaves no OpenVPN behind.
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        if writer is not None:
            writer.close()
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(process.wait()), _KILL_WAIT)
        drain.cancel()
    return run


async def _attach(process: asyncio.subprocess.Process, socket_path: Path,
                  output: deque[str]) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect to the management socket once OpenVPN has opened it; an early exit is a config error."""
    loop = asyncio.get_running_loop()
    limit = loop.time() + _STARTUP_LIMIT
    while True:
        if process.returncode is not None:
            await asyncio.sleep(0.05)  # let the drain task collect the last lines
            raise OpenVPNConfigError("OpenVPN exited at start: " + _explain(output))
        if socket_path.exists():
            with contextlib.suppress(OSError):
                return await asyncio.open_unix_connection(str(socket_path))
        if loop.time() > limit:
            raise OpenVPNConfigError("OpenVPN did not open its management interface: " + _explain(output))
        await asyncio.sleep(0.02)


def _explain(lines: Iterable[str]) -> str:
    """OpenVPN's error lines, once each (or its last lines when none says error)."""
    lines = list(lines)
    errors = [line for line in lines if _COMPLAINT.search(line) and "Note:" not in line] or lines[-3:]
    return " | ".join(dict.fromkeys(errors))


async def _drain(process: asyncio.subprocess.Process, output: deque[str]) -> None:
    """Keep the pipe empty (a full pipe would stall OpenVPN) and the last lines for error messages."""
    assert process.stdout is not None
    while line := await process.stdout.readline():
        output.append(line.decode("utf-8", "replace").rstrip())
