"""The probe's tests by OONI test_name (probe/experiment.py says what a test module exposes)."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Final

# test_name -> module; web_connectivity is the probe's first and default test.
EXPERIMENTS: Final = {
    "web_connectivity": "censorwatch.probe.web_connectivity",
    "telegram": "censorwatch.probe.experiments.telegram",
    "signal": "censorwatch.probe.experiments.signal",
    "whatsapp": "censorwatch.probe.experiments.whatsapp",
    "facebook_messenger": "censorwatch.probe.experiments.facebook_messenger",
    "vanilla_tor": "censorwatch.probe.experiments.vanilla_tor",
    "tor": "censorwatch.probe.experiments.tor",
    "openvpn": "censorwatch.probe.experiments.openvpn",
    "dnscheck": "censorwatch.probe.experiments.dnscheck",
    "http3": "censorwatch.probe.experiments.http3",
    "throttling": "censorwatch.probe.experiments.throttling",
}
DEFAULT_TEST: Final = "web_connectivity"
# Tests of censorwatch's own, which OONI does not have: `--upload ooni` keeps them local rather
# than publish measurements under test names OONI's tools do not know.
NOT_OONI: Final = frozenset({"http3", "throttling"})


def experiment(test_name: str) -> ModuleType:
    """The module of a test; KeyError for a name censorwatch does not run."""
    return importlib.import_module(EXPERIMENTS[test_name])
