"""telegram cases: two data centres (DCs) on loopback, each answering plain HTTP on two ports, and
Telegram Web over TLS with a lab-CA certificate for the real name web.telegram.org (the probe is
pointed there with `connect_to`, so the ClientHello carries the name a real censor filters on).

The DC addresses are loopback literals in the section, never the real ones: a probe that ignored
`connect_to` would then still stay on loopback (web.telegram.org itself is not in the lab's zone,
whose resolver forwards nothing).

Verdicts (analysis/telegram.py): every connect dropped -> tcp_ip; connections accepted then reset
(the no-root stand-in for an IP block) -> the POSTs get no response -> http-failure; the web's
ClientHello reset by server name -> tls."""

from __future__ import annotations

from typing import Any

from censorwatch.lab.app_lab import AppCase, AppLabEnv, FirewallRule
from censorwatch.lab.origin import Handler
from censorwatch.lab.pki import LAB_DOMAIN
from censorwatch.lab.sites import page_site, reset_censored, sni_reset

TEST_NAMES = ("telegram",)
WEB_HOST = "web.telegram.org"
WEB_URL = f"https://{WEB_HOST}/"
DATACENTERS = 2
BIND_ATTEMPTS = 20
# Long enough for the client to see its connect succeed first (lab/sites.reset_on_connect).


def _datacenters(env: AppLabEnv, handler: Handler) -> tuple[list[str], list[int]]:
    """DC addresses that all listen on the same two ports (the section's `ports` apply to every
    address, as 80 and 443 do for the real DCs)."""
    for _ in range(BIND_ATTEMPTS):
        addresses = [env.new_address() for _ in range(DATACENTERS)]
        ports = [env.listen(addresses[0], 0, handler), env.listen(addresses[0], 0, handler)]
        try:
            for address in addresses[1:]:
                for port in ports:
                    env.listen(address, port, handler)
        except OSError:
            continue  # the listeners already bound stay idle until the lab stops
        return addresses, ports
    raise OSError("no port pair free on every lab DC address")


async def start(env: AppLabEnv) -> list[AppCase]:
    cases: list[AppCase] = []

    def add(name: str, expected: tuple[str, str | None], needs_root: bool, description: str, *,
            dc: Handler, web: Handler, drop: bool = False) -> None:
        addresses, ports = _datacenters(env, dc)
        web_name, web_ip = f"web.{name}.{LAB_DOMAIN}", env.new_address()
        env.zone.honest[web_name] = web_ip
        web_port = env.listen(web_ip, 0, web)
        if drop:
            env.firewall_rules.extend(FirewallRule("tcp", address, port, "drop")
                                      for address in addresses for port in ports)
            env.firewall_rules.append(FirewallRule("tcp", web_ip, web_port, "drop"))
        section: dict[str, Any] = {"datacenters": addresses, "ports": ports, "web_url": WEB_URL,
                                   "connect_to": {f"{WEB_HOST}:443": f"{web_name}:{web_port}"}}
        cases.append(AppCase(name, "telegram", section, expected[0], expected[1], needs_root, description))

    context = env.server_context([WEB_HOST], "telegram-web")
    honest_dc, honest_web = page_site("telegram-dc"), page_site("telegram-web", context)
    add("telegram-ok", ("ok", None), False, "every DC answers the POSTs and Telegram Web loads",
        dc=honest_dc, web=honest_web)
    add("telegram-ip-reset", ("anomaly", "http-failure"), False,
        "every Telegram address accepts the censored source's connections and resets them (no-root IP block): "
        "the connects succeed, no POST gets a response", dc=reset_censored(honest_dc), web=reset_censored(honest_web))
    add("telegram-ip-drop", ("anomaly", "tcp_ip"), True,
        "the censored source's SYNs to every DC address and to Telegram Web are dropped (iptables)",
        dc=honest_dc, web=honest_web, drop=True)
    add("telegram-web-sni-reset", ("anomaly", "tls"), False,
        "the DCs answer; a ClientHello naming web.telegram.org from the censored source is reset",
        dc=honest_dc, web=sni_reset("telegram-web", context, frozenset({WEB_HOST})))
    return cases
