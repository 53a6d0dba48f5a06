"""Lab cases for the facebook_messenger probe test: Messenger's seven service hosts under the lab's
domain, each case on a loopback address of its own that the section's `networks` declares to be
Facebook's (the lab cannot give loopback an AS number). Judged by analysis/facebook_messenger.py:

    facebook-reachable          ok
    facebook-dns-nxdomain       NXDOMAIN for the censored source            anomaly, dns
    facebook-dns-forged         the censored source gets the lab origin's     anomaly, dns
                                address, outside Facebook's networks
    facebook-ip-blackhole       no root: the kernel drops every SYN to the    anomaly, tcp_ip
                                address (see Blackhole)
    facebook-ip-iptables-drop   root: iptables drops the censored source's    anomaly, tcp_ip
                                SYNs to the address
"""

from __future__ import annotations

from censorwatch.lab.app_lab import AppCase, AppLabEnv, FirewallRule
from censorwatch.lab.dns_server import NXDOMAIN
from censorwatch.lab.origin import Blackhole, Conn
from censorwatch.lab.pki import LAB_DOMAIN

TEST_NAMES = ("facebook_messenger",)
# probe-cli's services and the first label of their real hosts (stun.fbsbx.com, b-api.facebook.com, ...).
SERVICES = {"stun": "stun", "b_api": "b-api", "b_graph": "b-graph", "edge": "edge-mqtt",
            "external_cdn": "external", "scontent_cdn": "scontent", "star": "star"}


async def _accept_and_close(conn: Conn) -> None:
    """Messenger's endpoints are only connected to: the listener closes the socket when this returns."""


def _hosts(case: str) -> dict[str, str]:
    return {service: f"{label}.{case}.fb.{LAB_DOMAIN}" for service, label in SERVICES.items()}


def _section(hosts: dict[str, str], address: str, port: int) -> dict[str, object]:
    services: dict[str, dict[str, object]] = {}
    for service, host in hosts.items():
        services[service] = {"hostname": host} if service == "stun" else {"hostname": host, "port": port}
    return {"asn": 32934, "networks": [f"{address}/32"], "services": services}


async def start(env: AppLabEnv) -> list[AppCase]:
    cases: list[AppCase] = []

    def add(name: str, verdict: str, blocking: str | None, description: str, needs_root: bool = False,
            port: int | None = None, address: str | None = None) -> dict[str, str]:
        address = address or env.new_address()
        port = port if port is not None else env.listen(address, 0, _accept_and_close)
        hosts = _hosts(name)
        for host in hosts.values():
            env.zone.honest[host] = address
        cases.append(AppCase(name, "facebook_messenger", _section(hosts, address, port), verdict, blocking,
                             needs_root, description))
        return hosts

    add("facebook-reachable", "ok", None, "every Messenger host resolves into Facebook's networks and connects")

    for host in add("facebook-dns-nxdomain", "anomaly", "dns",
                    "the censored source's resolver says NXDOMAIN for Messenger's hosts").values():
        env.zone.censored[host] = NXDOMAIN

    for host in add("facebook-dns-forged", "anomaly", "dns",
                    "the censored source's resolver answers with an address outside Facebook's networks").values():
        env.zone.censored[host] = env.origin_ip

    address = env.new_address()
    hole = Blackhole(address)
    env.on_close.append(hole.close)
    add("facebook-ip-blackhole", "anomaly", "tcp_ip",
        "SYNs to the Messenger address are dropped (a full accept queue; no root)", port=hole.port, address=address)

    address = env.new_address()
    port = env.listen(address, 0, _accept_and_close)
    env.firewall_rules.append(FirewallRule("tcp", address, port, "drop"))
    add("facebook-ip-iptables-drop", "anomaly", "tcp_ip",
        "iptables drops the censored source's SYNs to the Messenger address", needs_root=True,
        port=port, address=address)
    return cases
