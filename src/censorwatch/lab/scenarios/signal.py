"""Lab cases for the signal probe test: Signal's four service hosts and the uptime name under the
lab's domain, served over TLS with certificates from a lab "Signal" CA that the section pins in
place of Signal's (the probe's --ca-file trusts the lab's web CA, not this one, so a case passes
only if the probe verifies against the section's CA). Judged by analysis/signal.py, which takes
the layer from the first failed request's failure string:

    signal-reachable           ok
    signal-dns-nxdomain        NXDOMAIN for chat's host, censored source       anomaly, dns
    signal-dns-forged          chat's host resolves, for the censored source,  anomaly, tls
                               to an impostor on the same port whose
                               certificate the lab's web CA signed
                               (ssl_unknown_authority: Signal's pin holds)
    signal-sni-reset           a RST in answer to chat's server name from      anomaly, tls
                               the censored source (connection_reset)
    signal-ip-blackhole        no root: every SYN to the address is dropped    anomaly, tcp_ip
                               (generic_timeout_error at connect)
    signal-ip-iptables-drop    root: iptables drops the censored source's      anomaly, tcp_ip
                               SYNs to the address
"""

from __future__ import annotations

from censorwatch.lab.app_lab import AppCase, AppLabEnv, FirewallRule
from censorwatch.lab.dns_server import NXDOMAIN
from censorwatch.lab.origin import Blackhole
from censorwatch.lab.pki import LAB_DOMAIN, make_authority, server_context
from censorwatch.lab.sites import sni_reset

TEST_NAMES = ("signal",)
# The labels of probe-cli's service hosts (cdsi.signal.org, chat.signal.org, sfu.voip.signal.org,
# storage.signal.org) and of the uptime name.
SERVICES = ("cdsi", "chat", "sfu-voip", "storage")
UPTIME = "uptime"


def _hosts(case: str) -> list[str]:
    return [f"{label}.{case}.signal.{LAB_DOMAIN}" for label in SERVICES]


def _chat(hosts: list[str]) -> str:
    return hosts[SERVICES.index("chat")]


async def start(env: AppLabEnv) -> list[AppCase]:
    authority = make_authority("censorwatch lab Signal CA")
    ca_pem = authority.pem().decode("ascii")
    cases: list[AppCase] = []

    def add(name: str, verdict: str, blocking: str | None, description: str, *,
            blocked_sni: frozenset[str] = frozenset(), needs_root: bool = False, address: str | None = None,
            port: int | None = None) -> tuple[list[str], str, int]:
        hosts = _hosts(name)
        address = address or env.new_address()
        if port is None:
            context = server_context(authority, hosts, env.workdir, f"signal-{name}")
            port = env.listen(address, 0, sni_reset(f"signal-{name}", context, blocked_sni))
        for host in hosts:
            env.zone.honest[host] = address
        uptime = f"{UPTIME}.{name}.signal.{LAB_DOMAIN}"
        env.zone.honest[uptime] = env.origin_ip
        section = {"endpoints": [f"https://{host}:{port}/" for host in hosts], "dns_lookups": [uptime],
                   "ca_pem": ca_pem}
        cases.append(AppCase(name, "signal", section, verdict, blocking, needs_root, description))
        return hosts, address, port

    add("signal-reachable", "ok", None, "every Signal endpoint answers over TLS verified against the pinned CA")

    hosts, _, _ = add("signal-dns-nxdomain", "anomaly", "dns", "NXDOMAIN for chat's host from the censored source")
    env.zone.censored[_chat(hosts)] = NXDOMAIN

    hosts, _, port = add("signal-dns-forged", "anomaly", "tls",
                         "chat's host resolves to an impostor with a certificate Signal's pin rejects")
    impostor = env.new_address()
    # Same port as the real server: only the address differs, as when DNS is forged.
    env.listen(impostor, port, sni_reset("signal-impostor", env.server_context([_chat(hosts)], "signal-impostor"),
                                         frozenset()))
    env.zone.censored[_chat(hosts)] = impostor

    sni_hosts = _hosts("signal-sni-reset")
    add("signal-sni-reset", "anomaly", "tls", "a RST answers chat's server name from the censored source",
        blocked_sni=frozenset({_chat(sni_hosts)}))

    address = env.new_address()
    hole = Blackhole(address)
    env.on_close.append(hole.close)
    add("signal-ip-blackhole", "anomaly", "tcp_ip", "SYNs to Signal's address are dropped (a full accept queue; "
        "no root)", address=address, port=hole.port)

    _, address, port = add("signal-ip-iptables-drop", "anomaly", "tcp_ip",
                           "iptables drops the censored source's SYNs to Signal's address", needs_root=True)
    env.firewall_rules.append(FirewallRule("tcp", address, port, "drop"))
    return cases
