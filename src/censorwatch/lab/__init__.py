"""The censor emulator on loopback: per-source DNS, TCP, TLS and HTTP interference (contracts.md, "Lab")."""

from censorwatch.lab.cases import LabCase
from censorwatch.lab.lab import Lab, LabError

__all__ = ["Lab", "LabCase", "LabError"]
