"""`Lab`: the censor emulator on loopback (contracts.md). Every server runs in one background event loop."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import importlib
import ipaddress
import pkgutil
import socket
import threading
from collections.abc import Collection, Coroutine
from datetime import date
from pathlib import Path
from typing import Any

from censorwatch.lab import scenarios, sites
from censorwatch.lab.app_lab import AppCase, AppLabEnv, FirewallRule
from censorwatch.lab.cases import SPECS, CaseSpec, LabCase
from censorwatch.lab.dns_server import NXDOMAIN, LabDnsServer, Zone
from censorwatch.lab.iptables import IptablesError, LabFirewall, iptables_usable
from censorwatch.lab.origin import Handler, LabListener
from censorwatch.lab.pki import LAB_DOMAIN, LabPki, create_pki
from censorwatch.probe.endpoints_file import write_endpoints
from censorwatch.services.test_helper import HelperConfig, TestHelperServer

ORIGIN_IP = "127.0.0.1"
FORGED_IP = "127.0.0.66"  # nothing ever listens there (a port is reserved, not listened on)
BLOCKPAGE_IPS = ("127.0.0.3", "127.0.0.4")


class LabError(RuntimeError):
    pass


def _reserve(host: str, port: int) -> socket.socket:
    """Bound, never listening: connections to host:port are refused, and no one else can take the port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


class Lab:
    def __init__(self, workdir: Path, censored_source: str = "127.0.0.2", use_iptables: bool | None = None,
                 tests: Collection[str] | None = ()) -> None:
        """`tests`: the probe tests whose scenarios to start besides the web cases (None: all; by default
        none, so a lab for Web Connectivity starts no tor, openvpn or QUIC server it does not need)."""
        address = ipaddress.ip_address(censored_source)
        if address.version != 4 or not address.is_loopback or censored_source == ORIGIN_IP:
            raise ValueError(f"censored source must be a 127.0.0.0/8 address other than {ORIGIN_IP}")
        self.workdir = Path(workdir)
        self.censored_source = censored_source
        self.use_iptables = use_iptables
        self.iptables_active = False
        self.used_iptables = False  # stays True after stop() when rules were installed (and then removed)
        self.blockpage_ip = next(ip for ip in BLOCKPAGE_IPS if ip != censored_source)
        self.resolver = ""
        self.test_helper_url = ""
        self.ca_file = self.workdir / "lab-ca.pem"
        self.cases: list[LabCase] = []
        self.app_cases: list[AppCase] = []
        self.tests = None if tests is None else frozenset(tests)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._listeners: list[LabListener] = []
        self._reserved: list[socket.socket] = []
        self._dns: LabDnsServer | None = None
        self._helper: TestHelperServer | None = None
        self._firewall: LabFirewall | None = None
        self._on_close: list[Any] = []

    # --- life cycle -------------------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            raise LabError("lab already started")
        want_iptables = self.use_iptables
        if want_iptables is None:
            want_iptables = iptables_usable()
        elif want_iptables and not iptables_usable():
            raise LabError("iptables was asked for but needs root and a working iptables")
        pki = create_pki(self.workdir)
        self.ca_file = pki.ca_file
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="censorwatch-lab", daemon=True)
        self._thread.start()
        try:
            rules = self._call(self._start_servers(pki, want_iptables))
            if want_iptables:
                self._firewall = LabFirewall(self.censored_source)
                self._firewall.install(rules)
                self.iptables_active = self.used_iptables = True
            self._write_endpoint_files()
        except (OSError, IptablesError, LabError):
            self.stop()
            raise

    def _call(self, coroutine: Coroutine[Any, Any, list[FirewallRule]]) -> list[FirewallRule]:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=60)

    def stop(self) -> None:
        """Idempotent; removes the iptables rules first, whatever else fails."""
        if self._firewall is not None:
            self._firewall.remove()
            self._firewall = None
            self.iptables_active = False
        if self._loop is not None and self._thread is not None:
            if self._loop.is_running():
                asyncio.run_coroutine_threadsafe(self._close_servers(), self._loop).result(timeout=30)
                self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)
            self._loop.close()
        self._loop = None
        self._thread = None
        for sock in self._reserved:
            sock.close()
        self._reserved.clear()

    def __enter__(self) -> Lab:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what the lab offers ----------------------------------------------------------------------------------

    @property
    def runnable_cases(self) -> list[LabCase]:
        return [case for case in self.cases if self.iptables_active or not case.needs_root]

    @property
    def runnable_app_cases(self) -> list[AppCase]:
        return [case for case in self.app_cases if self.iptables_active or not case.needs_root]

    def app_case(self, name: str) -> AppCase:
        return next(case for case in self.app_cases if case.name == name)

    def endpoints_file(self, case: AppCase) -> Path:
        return self.workdir / "endpoints" / f"{case.name}.yaml"

    def _write_endpoint_files(self) -> None:
        if not self.app_cases:
            return
        (self.workdir / "endpoints").mkdir(parents=True, exist_ok=True)
        for case in self.app_cases:
            write_endpoints(self.endpoints_file(case), {case.test_name: case.section})

    def app_probe_command(self, case: AppCase, output: Path | None = None) -> list[str]:
        """`censorwatch probe --test NAME --endpoints FILE` through the lab, from the censored source."""
        command = ["censorwatch", "probe", *case.inputs, "--test", case.test_name,
                   "--endpoints", str(self.endpoints_file(case)), *self._probe_network_options()]
        if output is not None:
            command += ["--output", str(output)]
        return command

    def _probe_network_options(self) -> list[str]:
        return ["--resolver", self.resolver, "--test-helper", self.test_helper_url, "--ca-file", str(self.ca_file),
                "--source-address", self.censored_source, "--probe-cc", "RU"]

    def case(self, name: str) -> LabCase:
        return next(case for case in self.cases if case.name == name)

    def write_test_list(self, path: Path) -> None:
        """Citizen Lab test-list CSV of the cases this lab can run."""
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["url", "category_code", "category_description", "date_added", "source", "notes"])
            for case in self.runnable_cases:
                writer.writerow(
                    [
                        case.url,
                        "CTRL",
                        "Control content",
                        date.today().isoformat(),
                        "censorwatch-lab",
                        f"lab case {case.name}",
                    ]
                )

    def probe_command(self, test_list: Path, output: Path | None = None) -> list[str]:
        command = ["censorwatch", "probe", "--list", str(test_list), *self._probe_network_options()]
        if output is not None:
            command += ["--output", str(output)]
        return command

    # --- inside the lab's event loop --------------------------------------------------------------------------

    async def _start_servers(self, pki: LabPki, iptables: bool) -> list[FirewallRule]:
        zone = Zone(LAB_DOMAIN, self.censored_source)
        self._dns = LabDnsServer(zone)
        host, port = await self._dns.start(ORIGIN_IP)
        self.resolver = f"{host}:{port}"
        rules: list[FirewallRule] = []
        for spec in SPECS:
            hostname = f"{spec.name}.{LAB_DOMAIN}"
            case_port = self._start_case(spec, hostname, pki, zone)
            zone.honest[hostname] = ORIGIN_IP
            if spec.name == "tcp-drop":
                rules.append(FirewallRule("tcp", ORIGIN_IP, case_port, "drop"))
            elif spec.name == "tcp-reject":
                rules.append(FirewallRule("tcp", ORIGIN_IP, case_port, "reject-rst"))
            self.cases.append(
                LabCase(
                    spec.name,
                    f"{spec.scheme}://{hostname}:{case_port}/",
                    spec.expected_verdict,
                    spec.expected_blocking,
                    spec.needs_root,
                    spec.description,
                )
            )
        helper_config = HelperConfig(
            resolver=(host, port),
            ca_file=pki.ca_file,
            connect_timeout=3.0,
            tls_timeout=3.0,
            http_timeout=10.0,
            loopback_only=True,  # whatever a probe asks, the lab's traffic never leaves loopback
        )
        self._helper = TestHelperServer(helper_config)
        self.test_helper_url = await self._helper.start(ORIGIN_IP, 0)
        env = AppLabEnv(self.workdir, self.censored_source, ORIGIN_IP, zone, pki.trusted, pki.ca_file, iptables,
                        self._listen)
        self._on_close = env.on_close
        for module in _scenario_modules():
            if self.tests is None or self.tests & set(module.TEST_NAMES):
                self.app_cases.extend(await module.start(env))
        return rules + env.firewall_rules

    def _listen(self, host: str, port: int, handler: Handler) -> int:
        listener = LabListener(host, port, handler, self.censored_source)
        bound = listener.bind()
        listener.start()
        self._listeners.append(listener)
        return bound

    def _start_case(self, spec: CaseSpec, hostname: str, pki: LabPki, zone: Zone) -> int:
        name = spec.name
        blocked = frozenset({hostname})
        handlers: dict[str, Handler] = {
            "ok-http": sites.page_site(name),
            "ok-https": sites.page_site(name, pki.honest),
            "dns-nxdomain": sites.page_site(name),
            "tcp-drop": sites.page_site(name),
            "tcp-reject": sites.page_site(name),
            "tcp-reset-after-accept": sites.reset_on_connect(name),
            "tls-sni-reset": sites.sni_reset(name, pki.honest, blocked),
            "tls-mitm": sites.mitm(name, pki.honest, pki.mitm),
            "http-blockpage": sites.inject_blockpage(name),
            "http-host-reset": sites.host_reset(name, blocked),
            "dynamic": sites.page_site(name, dynamic=True),
            "huge-body": sites.endless(name),
            "http-legal-notice": sites.inject_legal_notice(name),
            "news-about-blocking": sites.news_site(name),
            "ab-variant": sites.ab_split(name),
        }
        if name == "dns-nxdomain":
            zone.censored[hostname] = NXDOMAIN
        if name == "site-down":
            sock = _reserve(ORIGIN_IP, 0)
            self._reserved.append(sock)
            return int(sock.getsockname()[1])
        if name in ("dns-blockpage", "dns-blockpage-lookalike", "dns-forged"):
            return self._start_paired(name, hostname, zone)
        return self._listen(ORIGIN_IP, 0, handlers[name])

    def _start_paired(self, name: str, hostname: str, zone: Zone) -> int:
        """The origin on 127.0.0.1:P and, on the same port P, the blockpage server (or a reserved, silent port)
        at the address the censored source is told."""
        blockpage = {"dns-blockpage": sites.blockpage_site(), "dns-blockpage-lookalike": sites.lookalike_site(name)}
        other_ip = self.blockpage_ip if name in blockpage else FORGED_IP
        for _ in range(50):
            listener = LabListener(ORIGIN_IP, 0, sites.page_site(name), self.censored_source)
            port = listener.bind()
            try:
                if name in blockpage:
                    self._listen(other_ip, port, blockpage[name])
                else:
                    self._reserved.append(_reserve(other_ip, port))
            except OSError:
                asyncio.get_running_loop().create_task(listener.close())
                continue
            listener.start()
            self._listeners.append(listener)
            zone.censored[hostname] = other_ip
            return port
        raise LabError(f"no port free on both {ORIGIN_IP} and {other_ip}")

    async def _close_servers(self) -> None:
        for close in reversed(self._on_close):
            # One scenario failing to stop must not keep the others running.
            with contextlib.suppress(Exception):
                await close()
        self._on_close = []
        if self._helper is not None:
            await self._helper.close()
        for listener in self._listeners:
            await listener.close()
        self._listeners.clear()
        if self._dns is not None:
            await self._dns.close()


def _scenario_modules() -> list[Any]:
    """Every module of censorwatch.lab.scenarios, in name order (lab/app_lab.py says what one exposes)."""
    names = sorted(info.name for info in pkgutil.iter_modules(scenarios.__path__))
    return [importlib.import_module(f"{scenarios.__name__}.{name}") for name in names]
