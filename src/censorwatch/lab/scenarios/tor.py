"""Tor cases for the `tor` test (ts-023) and `vanilla_tor` (ts-016) on loopback.

A real obfs4 bridge: Debian's obfs4proxy in managed server mode, its cert read from the bridge line
it writes into its state directory, forwarding to a small sink standing in for the bridge's OR port
(obfs4proxy finishes the obfs4 handshake before it dials the OR port, so the handshake the probe
measures is real). A directory authority: a TLS listener for its OR port (relays' link
certificates are self-signed and OONI does not verify them) and an HTTP listener for its dir port.
The censor resets the censored source after its TCP connect (no root) or, with iptables, drops or
rejects its SYNs to an address of the case's own.

vanilla_tor: the blocked side against the stand-in authority above (bootstrap stalls), and the
reachable side against a private Tor network (lab/tor_network.py: an authority from tor-gencert and
relays, all Debian's tor). The lab only spawns the network (about 1-3 s for the authority's keys);
its first consensus comes some 10-20 s later, and the case's bootstrap timeout absorbs that wait
(tor retries its consensus fetches)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import Callable

from censorwatch.lab.app_lab import AppCase, AppLabEnv, FirewallRule
from censorwatch.lab.lab import LabError
from censorwatch.lab.origin import Conn, Handler, open_streams, peek_client_hello, read_head, relay, reset
from censorwatch.lab.tor_network import PrivateTorNetwork, TorNetworkError
from censorwatch.probe.experiments import _obfs4

TEST_NAMES = ("tor", "vanilla_tor")

LAB_FINGERPRINT = "0" * 39 + "1"  # obfs4 authenticates the bridge by its cert; the fingerprint is tor's
LAB_V3IDENT = "A" * 40
CASE_TIMEOUT = 3  # seconds per tor target
BOOTSTRAP_TIMEOUT = 6  # seconds for vanilla_tor to give up
RESET_DELAY = 0.2  # let the client see its connect succeed before the RST (as sites.reset_on_connect)
# Bootstrap through the private network: its first consensus plus tor's backed-off consensus retries
# plus the circuit. Measured 11-25 s from the lab's start to 100% on a loaded 2-core machine (2-13 s
# once the network has formed); 120 s leaves a wide margin.
NETWORK_BOOTSTRAP_TIMEOUT = 120
NETWORK_RELAYS = 3  # the authority is one of them: the fewest a three-hop circuit needs


def sink() -> Handler:
    """The bridge's OR port: reads and discards."""

    async def handle(conn: Conn) -> None:
        reader, _ = await open_streams(conn, None)
        with contextlib.suppress(TimeoutError):
            while await asyncio.wait_for(reader.read(65536), 30.0):
                pass

    return handle


def or_port(env: AppLabEnv, reset_censored: bool) -> Handler:
    context = env.server_context(["relay.tor.lab"], "tor-or-port", alpn=())

    async def handle(conn: Conn) -> None:
        if conn.censored and reset_censored:
            await peek_client_hello(conn.sock)
            reset(conn.sock)
            return
        reader, _ = await open_streams(conn, context)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(reader.read(1), 5.0)

    return handle


def dir_port() -> Handler:
    consensus = b"network-status-version 3 microdesc\nvote-status consensus\n" + b"x" * 1024

    async def handle(conn: Conn) -> None:
        reader, writer = await open_streams(conn, None)
        head = await read_head(reader)
        if head is None:
            return
        writer.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
                     + f"Content-Length: {len(consensus)}\r\n\r\n".encode() + consensus)
        await writer.drain()

    return handle


def front(target: tuple[str, int], reset_censored: bool) -> Handler:
    """A TCP relay in front of `target`: the censor's position. It resets the censored source just
    after its connect succeeds, and relays everyone else."""

    async def handle(conn: Conn) -> None:
        if conn.censored and reset_censored:
            await asyncio.sleep(RESET_DELAY)
            reset(conn.sock)
            return
        client = await open_streams(conn, None)
        await relay(client, await asyncio.wait_for(asyncio.open_connection(*target), 5.0))

    return handle


Listen = Callable[[Handler], tuple[str, int]]


def at(address: tuple[str, int]) -> str:
    return f"{address[0]}:{address[1]}"


async def start(env: AppLabEnv) -> list[AppCase]:
    def listen(handler: Handler) -> tuple[str, int]:
        address = env.new_address()
        return address, env.listen(address, 0, handler)

    or_ok = listen(or_port(env, reset_censored=False))
    relay_ok = listen(or_port(env, reset_censored=False))  # targets are keyed by address: one server each
    authority = {"name": "labauth", "address": or_ok[0], "or_port": or_ok[1],
                 "dir_port": env.listen(or_ok[0], 0, dir_port())}
    bridge_cases = await _bridge_cases(env, listen, authority, relay_ok)
    return (bridge_cases + _or_port_cases(env, listen, authority, relay_ok) + _vanilla_cases(env, listen, or_ok)
            + await _private_network_cases(env))


async def _bridge_cases(env: AppLabEnv, listen: Listen, authority: dict[str, object],
                        relay: tuple[str, int]) -> list[AppCase]:
    bridge = await _start_bridge(env, listen)
    if bridge is None:
        return []
    address, cert, iat = bridge

    def bridge_line(at_address: tuple[str, int]) -> str:
        return f"obfs4 {at(at_address)} {LAB_FINGERPRINT} cert={cert} iat-mode={iat}"

    bridge_reset = listen(front(address, reset_censored=True))
    bridge_dropped = listen(front(address, reset_censored=False))
    env.firewall_rules.append(FirewallRule("tcp", bridge_dropped[0], bridge_dropped[1], "drop"))
    return [
        _tor_case("tor-reachable", {"authorities": [authority], "relays": [at(relay)],
                                    "bridges": [bridge_line(address)]}, "ok", None, False,
                  "a directory authority (OR port and dir port), a relay and an obfs4 bridge, all reachable"),
        _tor_case("tor-bridge-reset", {"bridges": [bridge_line(bridge_reset)]}, "anomaly", "tls", False,
                  "the censor resets the obfs4 bridge's connection after the TCP handshake"),
        _tor_case("tor-one-of-three-failed",
                  {"authorities": [authority], "bridges": [bridge_line(bridge_reset)]}, "ok", None, False,
                  "the bridge is reset but the authority's two ports answer: 1 of 3 failed is not "
                  "an anomaly (OONI's fastpath: more than half must fail)"),
        _tor_case("tor-bridge-dropped", {"bridges": [bridge_line(bridge_dropped)]}, "anomaly", "tcp_ip", True,
                  "iptables drops the censored source's SYNs to the obfs4 bridge"),
    ]


def _or_port_cases(env: AppLabEnv, listen: Listen, authority: dict[str, object],
                   relay: tuple[str, int]) -> list[AppCase]:
    auth_reset = listen(or_port(env, reset_censored=True))
    relay_reset = listen(or_port(env, reset_censored=True))
    relay_rejected = listen(front(relay, reset_censored=False))
    env.firewall_rules.append(FirewallRule("tcp", relay_rejected[0], relay_rejected[1], "reject-rst"))
    reset_authority = {**authority, "address": auth_reset[0], "or_port": auth_reset[1], "dir_port": None}
    return [
        _tor_case("tor-or-port-reset", {"authorities": [reset_authority], "relays": [at(relay_reset)]},
                  "anomaly", "tls", False,
                  "the censor resets the TLS handshake with a directory authority's and a relay's OR ports"),
        _tor_case("tor-or-port-rejected", {"relays": [at(relay_rejected)]}, "anomaly", "tcp_ip", True,
                  "iptables answers the censored source's SYNs to a relay's OR port with a RST"),
    ]


def _vanilla_cases(env: AppLabEnv, listen: Listen, authority_or_port: tuple[str, int]) -> list[AppCase]:
    auth_reset = listen(front(authority_or_port, reset_censored=True))
    auth_dropped = listen(front(authority_or_port, reset_censored=False))
    env.firewall_rules.append(FirewallRule("tcp", auth_dropped[0], auth_dropped[1], "drop"))
    return [
        _vanilla_case("vanilla-tor-authority-reset", auth_reset, "anomaly", "tls", False,
                      "tor's only directory authority resets the censored source after the TCP handshake: "
                      "bootstrap stalls at the relay handshake"),
        _vanilla_case("vanilla-tor-authority-dropped", auth_dropped, "anomaly", "tcp_ip", True,
                      "iptables drops the censored source's SYNs to tor's only directory authority: "
                      "bootstrap stalls while connecting"),
    ]


async def _private_network_cases(env: AppLabEnv) -> list[AppCase]:
    if shutil.which("tor") is None or shutil.which("tor-gencert") is None:
        return []  # both come in Debian's tor package; the test module is skipped without tor
    network = PrivateTorNetwork([env.new_address() for _ in range(NETWORK_RELAYS)], env.workdir / "tor-network")
    env.on_close.append(network.close)  # idempotent; start() also stops what it spawned when it fails
    try:
        await network.start()  # keys and processes only: no wait for the consensus
    except TorNetworkError as error:
        # tor is installed, so this is a defect to see, not a case to drop; the lab stops and re-raises
        raise LabError(f"the private Tor network: {error}") from error
    # Nothing censors the network: the censored source's connections to it pass (no listener, no rule).
    section = {"timeout": NETWORK_BOOTSTRAP_TIMEOUT, "torrc": network.client_torrc()}
    return [AppCase("vanilla-tor-private-network", "vanilla_tor", section, "ok", None, False,
                    "a private Tor network on loopback (one authority that is also a relay, two more relays): "
                    "tor bootstraps to 100% once its first consensus is out")]


async def _start_bridge(env: AppLabEnv, listen: Listen) -> tuple[tuple[str, int], str, str] | None:
    binary = shutil.which("obfs4proxy")
    if binary is None:
        return None  # no bridge cases without obfs4proxy; the test module skips them by name
    sink_address = listen(sink())
    server = await _obfs4.start_server(binary, env.workdir / "tor-bridge", (env.new_address(), 0), sink_address)
    env.on_close.append(server.close)
    return (server.host, server.port), server.cert, server.iat_mode


def _tor_case(name: str, section: dict[str, object], verdict: str, blocking: str | None, needs_root: bool,
              description: str) -> AppCase:
    return AppCase(name, "tor", {"timeout": CASE_TIMEOUT, **section}, verdict, blocking, needs_root, description)


def _vanilla_case(name: str, authority: tuple[str, int], verdict: str, blocking: str | None, needs_root: bool,
                  description: str) -> AppCase:
    host, port = authority
    torrc = [
        # the lab's authority stands in for tor's default ones; its dir port is never reached
        f"DirAuthority labauth orport={port} v3ident={LAB_V3IDENT} {host}:{port} {LAB_FINGERPRINT}",
        "ExtendAllowPrivateAddresses 1",  # tor refuses private first hops unless told
    ]
    return AppCase(name, "vanilla_tor", {"timeout": BOOTSTRAP_TIMEOUT, "torrc": torrc}, verdict, blocking,
                   needs_root, description)

