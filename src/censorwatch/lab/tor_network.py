"""A private Tor network on loopback, built as chutney builds one, from Debian's tor and tor-gencert:
one directory authority (its v3 keys from tor-gencert; it is also a relay) and plain relays, each on
a loopback address of its own, with TestingTorNetwork's relaxed rules (private addresses, relays
assumed reachable, Guard/HSDir flags voted for everyone) and a voting round every 10 seconds. A
client given `client_torrc()` bootstraps to 100% through it once the first consensus is out.

`start()` only creates the keys and spawns the processes; `ready()` waits for a consensus that
lists every relay as Running. The relays are not exits: bootstrapping needs none, and a relay that
is no exit never resolves names or opens connections beyond the network, so nothing leaves loopback.
Every process lives in a session of its own (stopped with its group) and also exits by itself when
the Python process that owns it dies (__OwningControllerProcess)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from censorwatch.probe.experiments._tor_process import stop

MIN_RELAYS = 3  # a client's circuit has three distinct hops
START_TIMEOUT = 30.0  # seconds for tor-gencert and tor --list-fingerprint (key generation)
POLL_INTERVAL = 0.5
CONSENSUS_PATH = "/tor/status-vote/current/consensus-microdesc"
# TestingTorNetwork wants some DirAuthority even to list a fingerprint (tor contacts none for that)
PLACEHOLDER_AUTHORITY = f"placeholder orport=1 no-v2 v3ident={'0' * 40} 127.0.0.1:1 {'0' * 40}"

# Onion-service "vanguards-lite" (on by default since 0.4.7) takes the second hop of the internal
# circuits a network without exits builds from a small layer-2 set that leaves out the guards; among 3
# relays that set is often used up by the first and last hops ("Empty routerlist ... as middle node",
# "Failed to find node for hop #2"), and a client's bootstrap stalls at 95% about one run in three.
VANGUARDS_LITE_OFF = "VanguardsLiteEnabled 0"
# The options every node shares, after chutney's common.i and authority.i.
COMMON_OPTIONS = (
    "TestingTorNetwork 1",
    "AssumeReachable 1",  # no reachability self-test: relays publish at once
    "PathsNeededToBuildCircuits 0.67",  # 3 relays: enough once two thirds of the paths are known
    "TestingDirAuthVoteGuard *",  # no uptime needed for Guard (a client wants a guard)
    "TestingDirAuthVoteHSDir *",
    # Every relay's bandwidth stays 0, so clients pick among them uniformly. A relay otherwise advertises
    # the bandwidth it observed, which becomes non-zero at different times: while one or two relays
    # weigh something and the others nothing, a client finds no distinct middle hop and its bootstrap
    # stalls at 95% (a bandwidth file cannot help: measured values count from 3 authorities up).
    "CountPrivateBandwidth 0",
    VANGUARDS_LITE_OFF,
    "V3AuthNIntervalsValid 2",
    "ExitRelay 0",
    "ExitPolicy reject *:*",
    "SocksPort 0",
    "RunAsDaemon 0",
    "SafeLogging 0",
    "ShutdownWaitLength 0",  # a relay otherwise lingers 30 s after SIGINT
    "TestingServerDownloadInitialDelay 0",
    "TestingServerConsensusDownloadInitialDelay 0",
)
# The fastest schedule chutney keeps (an initial interval of 5 s is unstable).
AUTHORITY_OPTIONS = (
    "AuthoritativeDirectory 1",
    "V3AuthoritativeDirectory 1",
    "ContactInfo auth@lab.test",
    "TestingV3AuthInitialVotingInterval 10",
    "TestingV3AuthInitialVoteDelay 2",
    "TestingV3AuthInitialDistDelay 2",
    "V3AuthVotingInterval 10",
    "V3AuthVoteDelay 2",
    "V3AuthDistDelay 2",
)
CERT_FINGERPRINT = re.compile(r"^fingerprint ([0-9A-F]{40})$", re.MULTILINE)


class TorNetworkError(RuntimeError):
    """The network could not be built, or did not reach a consensus in time (the message has tor's last lines)."""


@dataclass(frozen=True)
class Node:
    nickname: str
    address: str
    or_port: int
    dir_port: int | None  # only the authority serves directory requests on a dir port
    directory: Path

    @property
    def log(self) -> Path:
        return self.directory / "notice.log"


def free_port(address: str) -> int:
    """A TCP port free on `address` now (tor binds it a moment later; each node has an address of its own)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((address, 0))
        return int(sock.getsockname()[1])


class PrivateTorNetwork:
    """`addresses`: one loopback address per relay (at least 3); the first one's relay is the authority."""

    def __init__(self, addresses: Sequence[str], directory: Path | None = None, tor: str = "tor",
                 tor_gencert: str = "tor-gencert") -> None:
        if len(addresses) < MIN_RELAYS or len(set(addresses)) != len(addresses):
            raise ValueError(f"a private Tor network needs at least {MIN_RELAYS} distinct addresses")
        self.addresses = tuple(addresses)
        self.tor = tor
        self.tor_gencert = tor_gencert
        self._given_directory = directory
        self.directory: Path | None = None
        self.nodes: list[Node] = []
        self.dir_authority = ""  # the DirAuthority line, once started
        self._processes: list[asyncio.subprocess.Process] = []

    @property
    def authority(self) -> Node:
        return self.nodes[0]

    def client_torrc(self) -> list[str]:
        """What a client adds to its torrc to use this network instead of the public one."""
        if not self.dir_authority:
            raise TorNetworkError("the network is not started")
        return ["TestingTorNetwork 1", VANGUARDS_LITE_OFF, self.dir_authority]

    # --- life cycle ---------------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Keys, torrcs and processes; returns without waiting for the first consensus (see `ready`)."""
        if self.directory is not None:
            raise TorNetworkError("the network is already started")
        if self._given_directory is None:
            self.directory = Path(tempfile.mkdtemp(prefix="censorwatch-tor-network-"))
        else:
            self.directory = self._given_directory
            self.directory.mkdir(parents=True, exist_ok=True)
        try:
            self.nodes = [self._node(index, address) for index, address in enumerate(self.addresses)]
            authority = self.authority
            assert authority.dir_port is not None
            v3ident, fingerprint = await self._keys_and_identity()
            self.dir_authority = (f"DirAuthority {authority.nickname} orport={authority.or_port} no-v2 "
                                  f"v3ident={v3ident} {authority.address}:{authority.dir_port} {fingerprint}")
            for node in self.nodes:
                self._write_torrc(node)
                self._processes.append(await self._spawn(node))
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Stops every process (idempotent) and removes the directory the network made for itself."""
        processes, self._processes = self._processes, []
        await asyncio.gather(*(stop(process) for process in processes), return_exceptions=True)
        if self._given_directory is None and self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
        self.directory = None

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self._processes if process.returncode is None]

    async def ready(self, timeout: float) -> None:
        """Returns once the authority serves a consensus listing every relay as Running."""
        if not self.nodes or not self._processes:
            raise TorNetworkError("the network is not started")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for node, process in zip(self.nodes, self._processes, strict=True):
                if process.returncode is not None:
                    raise TorNetworkError(f"{node.nickname} exited with status {process.returncode}: "
                                          + self.log_tail(node))
            consensus = await self._consensus()
            if consensus is not None and running_relays(consensus) >= len(self.nodes):
                return
            if loop.time() >= deadline:
                raise TorNetworkError(f"no consensus with all {len(self.nodes)} relays after {timeout:g} s: "
                                      + self.log_tail(self.authority))
            await asyncio.sleep(POLL_INTERVAL)

    def log_tail(self, node: Node, lines: int = 8) -> str:
        try:
            text = node.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return " | ".join(text.splitlines()[-lines:])

    # --- the parts ----------------------------------------------------------------------------------------------

    def _node(self, index: int, address: str) -> Node:
        assert self.directory is not None
        nickname = "labauth" if index == 0 else f"labrelay{index}"
        directory = self.directory / nickname
        (directory / "keys").mkdir(mode=0o700, parents=True, exist_ok=True)
        return Node(nickname, address, free_port(address), free_port(address) if index == 0 else None, directory)

    async def _keys_and_identity(self) -> tuple[str, str]:
        """The authority's v3ident and relay fingerprint. Both make RSA keys (seconds on a busy machine):
        side by side, the other stopped when one fails (a TaskGroup; gather would leave it running)."""
        try:
            async with asyncio.TaskGroup() as group:
                keys = group.create_task(self._authority_keys(self.authority))
                identity = group.create_task(self._fingerprint(self.authority))
        except* TorNetworkError as errors:
            raise errors.exceptions[0] from None
        return keys.result(), identity.result()

    async def _authority_keys(self, node: Node) -> str:
        """tor-gencert's identity key, signing key and certificate in the authority's keys/; its v3ident."""
        keys = node.directory / "keys"
        # An empty passphrase on fd 0: the identity key only signs the certificate, made right here.
        await self._run([self.tor_gencert, "--create-identity-key", "-m", "12",
                         "-a", f"{node.address}:{node.dir_port}", "--passphrase-fd", "0"],
                        cwd=keys, stdin=b"\n")
        certificate = (keys / "authority_certificate").read_text(encoding="ascii")
        match = CERT_FINGERPRINT.search(certificate)
        if match is None:
            raise TorNetworkError("tor-gencert wrote a certificate without a fingerprint")
        return match.group(1)

    async def _fingerprint(self, node: Node) -> str:
        """The authority's relay identity: tor creates its keys and lists the fingerprint, then exits. It
        runs beside tor-gencert, so as a plain relay (an authority would look for its v3 keys)."""
        torrc = node.directory / "torrc"
        torrc.write_text("\n".join(self._options(node, as_authority=False)) + "\n", encoding="utf-8")
        await self._run([self.tor, "--list-fingerprint", "-f", str(torrc), "--DirAuthority", PLACEHOLDER_AUTHORITY],
                        cwd=node.directory)
        words = (node.directory / "fingerprint").read_text(encoding="ascii").split()
        if len(words) != 2 or len(words[1]) != 40:
            raise TorNetworkError(f"tor wrote an unexpected fingerprint file: {words}")
        return words[1]

    def _options(self, node: Node, as_authority: bool = True) -> list[str]:
        lines = [
            *COMMON_OPTIONS,
            f"DataDirectory {node.directory}",
            f"Nickname {node.nickname}",
            f"Address {node.address}",
            f"ORPort {node.address}:{node.or_port}",
            f"Log notice file {node.log}",
            f"__OwningControllerProcess {os.getpid()}",  # a killed test run takes its relays with it
        ]
        if node.dir_port is not None and as_authority:
            lines += [f"DirPort {node.address}:{node.dir_port}", *AUTHORITY_OPTIONS]
        return lines

    def _write_torrc(self, node: Node) -> None:
        lines = [*self._options(node), self.dir_authority]
        (node.directory / "torrc").write_text("\n".join(lines) + "\n", encoding="utf-8")

    async def _spawn(self, node: Node) -> asyncio.subprocess.Process:
        try:
            # Its own session, as the probe's tor: stop() signals the whole group.
            return await asyncio.create_subprocess_exec(
                self.tor, "-f", str(node.directory / "torrc"), cwd=node.directory,
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL, start_new_session=True)
        except OSError as error:
            raise TorNetworkError(f"cannot start {self.tor}: {error.strerror or error}") from error

    async def _run(self, argv: list[str], cwd: Path, stdin: bytes | None = None) -> None:
        try:
            process = await asyncio.create_subprocess_exec(
                *argv, cwd=cwd, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT, start_new_session=True)
        except OSError as error:
            raise TorNetworkError(f"cannot start {argv[0]}: {error.strerror or error}") from error
        try:
            output, _ = await asyncio.wait_for(process.communicate(stdin), START_TIMEOUT)
        except BaseException:
            await stop(process)
            raise
        if process.returncode != 0:
            tail = " | ".join(output.decode("utf-8", "replace").splitlines()[-4:])
            raise TorNetworkError(f"{Path(argv[0]).name} failed with status {process.returncode}: {tail}")

    async def _consensus(self) -> str | None:
        """The authority's microdesc consensus over its dir port, None while it has none (404) or is down."""
        authority = self.authority
        assert authority.dir_port is not None
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(authority.address, authority.dir_port), 2.0)
        except (OSError, TimeoutError):
            return None
        try:
            writer.write(f"GET {CONSENSUS_PATH} HTTP/1.0\r\nHost: {authority.address}\r\n\r\n".encode())
            await writer.drain()
            response = await asyncio.wait_for(reader.read(), 5.0)
        except (OSError, TimeoutError):
            return None
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        head, _, body = response.partition(b"\r\n\r\n")
        if not head.startswith((b"HTTP/1.0 200", b"HTTP/1.1 200")):
            return None
        return body.decode("ascii", "replace")


def running_relays(consensus: str) -> int:
    """How many relays a consensus lists with the Running flag (each `r` line is followed by its `s` line)."""
    return sum(1 for line in consensus.splitlines() if line.startswith("s ") and "Running" in line.split())
