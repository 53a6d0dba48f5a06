"""Per-source TCP and UDP interference the kernel must do (a dropped SYN cannot be emulated in user space): iptables
rules in a chain of the lab's own, jumped to from INPUT, always removed on stop (and at exit as a last resort)."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field

from censorwatch.lab.app_lab import FirewallRule

_TARGETS = {
    "drop": ("DROP",),
    "reject-rst": ("REJECT", "--reject-with", "tcp-reset"),
    "reject": ("REJECT", "--reject-with", "icmp-port-unreachable"),
}


class IptablesError(RuntimeError):
    pass


def _run(binary: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([binary, "-w", "5", *args], capture_output=True, text=True, timeout=20, check=False)


def iptables_usable() -> bool:
    """Root, the binary, and a kernel that lets us list the filter table."""
    binary = shutil.which("iptables")
    if binary is None or os.geteuid() != 0:
        return False
    try:
        return _run(binary, "-n", "-L", "INPUT").returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@dataclass
class LabFirewall:
    source: str
    chain: str = field(default_factory=lambda: f"CWLAB-{os.getpid()}")
    installed: bool = False
    _binary: str = ""

    def install(self, rules: Iterable[FirewallRule]) -> None:
        binary = shutil.which("iptables")
        if binary is None:
            raise IptablesError("iptables not found")
        self._binary = binary
        _run(binary, "-F", self.chain)  # a chain left by an earlier crashed run with the same pid
        _run(binary, "-X", self.chain)
        self._check(_run(binary, "-N", self.chain))
        self.installed = True
        atexit.register(self.remove)
        for rule in rules:
            self._check(_run(binary, "-A", self.chain, "-p", rule.protocol, "-s", self.source, "-d", rule.destination,
                             "--dport", str(rule.port), "-j", *_TARGETS[rule.action]))
        self._check(_run(binary, "-I", "INPUT", "1", "-j", self.chain))

    def _check(self, result: subprocess.CompletedProcess[str]) -> None:
        if result.returncode != 0:
            self.remove()
            raise IptablesError(result.stderr.strip() or f"iptables exited {result.returncode}")

    def remove(self) -> None:
        if not self.installed:
            return
        self.installed = False
        while _run(self._binary, "-D", "INPUT", "-j", self.chain).returncode == 0:
            pass
        _run(self._binary, "-F", self.chain)
        _run(self._binary, "-X", self.chain)
        atexit.unregister(self.remove)

    def rules(self) -> str:
        result = _run(self._binary or "iptables", "-S", self.chain)
        return result.stdout if result.returncode == 0 else ""
