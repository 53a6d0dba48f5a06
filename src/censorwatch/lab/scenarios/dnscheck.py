"""dnscheck cases: DNS-over-HTTPS and DNS-over-TLS resolvers on loopback, certified by the lab CA,
answering from the lab's zone; the censor resets them by server name, resets the censored source
outright, drops its SYNs (iptables) or hides the resolver's name from it."""

from __future__ import annotations

import asyncio
import ssl
import struct
from typing import Any

from censorwatch.lab.app_lab import AppCase, AppLabEnv, FirewallRule
from censorwatch.lab.dns_server import NXDOMAIN, Zone
from censorwatch.lab.origin import Conn, Handler, open_streams, peek_client_hello, read_head, reset, server_name
from censorwatch.lab.pki import LAB_DOMAIN

TEST_NAMES = ("dnscheck",)
MAX_QUERY = 4096


def lab_name(stem: str) -> str:
    return f"{stem}.{LAB_DOMAIN}"


async def _serve_doh(conn: Conn, context: ssl.SSLContext, zone: Zone) -> None:
    reader, writer = await open_streams(conn, context)
    head = await read_head(reader)
    if head is None:
        return
    try:
        length = int(head.get("content-length", "0"))
    except ValueError:
        length = 0
    wire = await asyncio.wait_for(reader.readexactly(length), 5.0) if 0 < length <= MAX_QUERY else b""
    answer = zone.reply(wire, conn.peer) if head[":request"].startswith("POST ") else None
    if answer is None:
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    else:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/dns-message\r\n"
                     + f"Content-Length: {len(answer)}\r\nConnection: close\r\n\r\n".encode() + answer)
    await writer.drain()


async def _serve_dot(conn: Conn, context: ssl.SSLContext, zone: Zone) -> None:
    reader, writer = await open_streams(conn, context)
    while True:
        try:
            (length,) = struct.unpack("!H", await asyncio.wait_for(reader.readexactly(2), 5.0))
            wire = await asyncio.wait_for(reader.readexactly(length), 5.0)
        except (asyncio.IncompleteReadError, TimeoutError):
            return
        answer = zone.reply(wire, conn.peer)
        if answer is None:
            return
        writer.write(struct.pack("!H", len(answer)) + answer)
        await writer.drain()


def resolver_server(kind: str, context: ssl.SSLContext, zone: Zone, blocked_sni: frozenset[str] = frozenset(),
                    reset_censored: bool = False) -> Handler:
    """A DoH or DoT server; the censored source is reset before the ServerHello when it names a
    blocked server (SNI filtering) or, with `reset_censored`, whatever it sends."""
    serve = _serve_doh if kind == "doh" else _serve_dot

    async def handle(conn: Conn) -> None:
        if conn.censored and (blocked_sni or reset_censored):
            hello = await peek_client_hello(conn.sock)
            if reset_censored or server_name(hello) in blocked_sni:
                reset(conn.sock)
                return
        await serve(conn, context, zone)

    return handle


async def start(env: AppLabEnv) -> list[AppCase]:
    domain = lab_name("dnscheck-example")
    env.zone.honest[domain] = env.origin_ip

    def resolver(kind: str, stem: str, **interference: Any) -> tuple[str, str, int]:
        """A server of its own address and name; returns (url, ip, port)."""
        name, ip = lab_name(stem), env.new_address()
        env.zone.honest[name] = ip
        context = env.server_context([name], stem)
        port = env.listen(ip, 0, resolver_server(kind, context, env.zone, **interference))
        url = f"https://{name}:{port}/dns-query" if kind == "doh" else f"dot://{name}:{port}"
        return url, ip, port

    def section(url: str) -> dict[str, Any]:
        return {"domain": domain, "reject_bogons": False, "resolvers": [url]}

    doh_ok, _, _ = resolver("doh", "doh-ok")
    dot_ok, _, _ = resolver("dot", "dot-ok")
    doh_sni = lab_name("doh-sni-blocked")
    doh_sni_url, _, _ = resolver("doh", "doh-sni-blocked", blocked_sni=frozenset({doh_sni}))
    dot_reset, _, _ = resolver("dot", "dot-reset", reset_censored=True)
    doh_hidden, _, _ = resolver("doh", "doh-hidden")
    env.zone.censored[lab_name("doh-hidden")] = NXDOMAIN
    dot_dropped, dropped_ip, dropped_port = resolver("dot", "dot-dropped")
    env.firewall_rules.append(FirewallRule("tcp", dropped_ip, dropped_port, "drop"))

    return [
        AppCase("dnscheck-doh-ok", "dnscheck", section(doh_ok), "ok", None, False,
                "a DoH resolver everyone reaches"),
        AppCase("dnscheck-dot-ok", "dnscheck", section(dot_ok), "ok", None, False,
                "a DoT resolver everyone reaches"),
        AppCase("dnscheck-doh-sni-reset", "dnscheck", section(doh_sni_url), "anomaly", "tls", False,
                "the censor resets TLS handshakes naming the DoH resolver"),
        AppCase("dnscheck-dot-reset", "dnscheck", section(dot_reset), "anomaly", "tls", False,
                "the censor resets the censored source's connections to the DoT resolver"),
        AppCase("dnscheck-bootstrap-nxdomain", "dnscheck", section(doh_hidden), "anomaly", "dns", False,
                "the resolver's own name is NXDOMAIN for the censored source (bootstrap failure)"),
        AppCase("dnscheck-dot-tcp-drop", "dnscheck", section(dot_dropped), "anomaly", "tcp_ip", True,
                "the censored source's SYNs to the DoT resolver are dropped (iptables)"),
    ]
