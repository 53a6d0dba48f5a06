"""Route a measurement to the analyser of its test (one module per OONI test, like ooni/data's
models/nettests). Every analyser module exposes `analyse(measurement) -> Verdict`."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from censorwatch.model.verdict import FAILURE, Verdict, not_analysed, ooni_blocking_text

Analyser = Callable[[Mapping[str, Any]], Verdict]

# test_name -> module under censorwatch.analysis
ANALYSERS: dict[str, str] = {
    "web_connectivity": "web_connectivity",
    "telegram": "telegram",
    "signal": "signal",
    "whatsapp": "whatsapp",
    "facebook_messenger": "facebook_messenger",
    "tor": "tor",
    "vanilla_tor": "vanilla_tor",
    "torsf": "circumvention",
    "psiphon": "circumvention",
    "riseupvpn": "circumvention",
    "openvpn": "circumvention",
    "http_header_field_manipulation": "middlebox",
    "http_invalid_request_line": "middlebox",
    "dnscheck": "dnscheck",
    "http3": "http3",
    "throttling": "throttling",
}


@cache
def _analyser(test_name: str) -> Analyser | None:
    module_name = ANALYSERS.get(test_name)
    if module_name is None:
        return None
    module = importlib.import_module(f"censorwatch.analysis.{module_name}")
    analyser: Analyser = module.analyse
    return analyser


def analyse(measurement: Mapping[str, Any]) -> Verdict:
    """Never raises for a malformed measurement of a known test: it becomes a failure verdict
    with the reason, so one bad record cannot abort a batch."""
    test_name = measurement.get("test_name")
    test_keys = measurement.get("test_keys")
    claimed = ooni_blocking_text(test_keys.get("blocking")) if isinstance(test_keys, Mapping) else None
    analyser = _analyser(test_name) if isinstance(test_name, str) else None
    if analyser is None:
        return not_analysed(test_name if isinstance(test_name, str) else None, claimed)
    if not isinstance(test_keys, Mapping):
        return Verdict(FAILURE, None, "measurement has no test_keys", ooni_blocking=claimed)
    try:
        return analyser(measurement)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
        return Verdict(FAILURE, None, f"malformed measurement: {type(error).__name__}: {error}",
                       ooni_blocking=claimed)
