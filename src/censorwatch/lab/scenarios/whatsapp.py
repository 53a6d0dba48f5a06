"""whatsapp cases: two endpoints (e1, e2) listening on two ports each, the registration service
and WhatsApp Web over TLS with lab-CA certificates for their real names. The section keeps the
real names and URLs (analysis/whatsapp.py recognises the registration and web requests by their
exact URLs) and `connect_to` sends each HOST:PORT to a lab name of the case, resolved by the lab's
resolver: DNS interference on it is measured, and a name left out of `connect_to` fails at the
lab's resolver (it forwards nothing) instead of leaving loopback.

Verdicts (analysis/whatsapp.py, as ooni/backend fastpath): every connect dropped -> tcp_ip;
connections accepted then reset (the no-root stand-in for an IP block: bare endpoint connects
succeed, the registration GET is reset before its ServerHello) -> tls; the web's ClientHello
reset by server name -> tls; the registration name NXDOMAIN -> dns."""

from __future__ import annotations

from typing import Any

from censorwatch.lab.app_lab import AppCase, AppLabEnv, FirewallRule
from censorwatch.lab.dns_server import NXDOMAIN
from censorwatch.lab.origin import Handler
from censorwatch.lab.pki import LAB_DOMAIN
from censorwatch.lab.sites import page_site, reset_censored, sni_reset

TEST_NAMES = ("whatsapp",)
ENDPOINTS = ("e1.whatsapp.net", "e2.whatsapp.net")
ENDPOINT_PORTS = [443, 5222]
REGISTRATION_HOST = "v.whatsapp.net"
WEB_HOST = "web.whatsapp.com"


async def start(env: AppLabEnv) -> list[AppCase]:
    cases: list[AppCase] = []
    registration_tls = env.server_context([REGISTRATION_HOST], "whatsapp-registration")
    web_tls = env.server_context([WEB_HOST], "whatsapp-web")
    honest_endpoint = page_site("whatsapp-endpoint")
    honest_registration = page_site("whatsapp-registration", registration_tls)
    honest_web = page_site("whatsapp-web", web_tls)

    def add(name: str, expected: tuple[str, str | None], needs_root: bool, description: str, *,
            endpoint: Handler = honest_endpoint, registration: Handler = honest_registration,
            web: Handler = honest_web, drop: bool = False, hidden: tuple[str, ...] = ()) -> None:
        connect_to: dict[str, str] = {}

        def serve(real: str, ports: list[int], handler: Handler) -> None:
            label = real.split(".")[0]
            lab_host, ip = f"{label}.{name}.{LAB_DOMAIN}", env.new_address()
            env.zone.honest[lab_host] = ip
            if real in hidden:
                env.zone.censored[lab_host] = NXDOMAIN
            for real_port in ports:
                port = env.listen(ip, 0, handler)
                connect_to[f"{real}:{real_port}"] = f"{lab_host}:{port}"
                if drop:
                    env.firewall_rules.append(FirewallRule("tcp", ip, port, "drop"))

        for host in ENDPOINTS:
            serve(host, ENDPOINT_PORTS, endpoint)
        serve(REGISTRATION_HOST, [443], registration)
        serve(WEB_HOST, [443], web)
        section: dict[str, Any] = {
            "endpoints": list(ENDPOINTS),
            "endpoint_ports": ENDPOINT_PORTS,
            "registration_url": f"https://{REGISTRATION_HOST}/v2/register",
            "web_url": f"https://{WEB_HOST}/",
            "connect_to": connect_to,
        }
        cases.append(AppCase(name, "whatsapp", section, expected[0], expected[1], needs_root, description))

    add("whatsapp-ok", ("ok", None), False, "every endpoint, the registration service and WhatsApp Web reachable")
    add("whatsapp-ip-reset", ("anomaly", "tls"), False,
        "every WhatsApp address accepts the censored source's connections and resets them (no-root IP block): "
        "bare endpoint connects succeed, the registration GET is reset before the ServerHello",
        endpoint=reset_censored(honest_endpoint), registration=reset_censored(honest_registration),
        web=reset_censored(honest_web))
    add("whatsapp-ip-drop", ("anomaly", "tcp_ip"), True,
        "the censored source's SYNs to every WhatsApp address are dropped (iptables)", drop=True)
    add("whatsapp-web-sni-reset", ("anomaly", "tls"), False,
        "a ClientHello naming web.whatsapp.com from the censored source is reset",
        web=sni_reset("whatsapp-web", web_tls, frozenset({WEB_HOST})))
    add("whatsapp-registration-dns", ("anomaly", "dns"), False,
        "the registration service's name is NXDOMAIN for the censored source", hidden=(REGISTRATION_HOST,))
    return cases
