"""Remove the submitter's address from a measurement before anything is written.

OONI's convention (df-000-base, probe_ip) is to report 127.0.0.1 instead of the probe's address;
probe-cli additionally replaces the probe's address wherever else it occurs in the measurement. The
collector does both, for the address the probe declared and for the address the request came from,
so a probe that forgot to scrub cannot betray its user through us.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import Any, Final

import orjson

from censorwatch.model.measurement import SCRUBBED_IP

SCRUBBED_TEXT: Final = "[scrubbed]"


def _address(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return str(ipaddress.ip_address(value.strip().strip("[]")))
    except ValueError:
        return None


def _pattern(address: str) -> re.Pattern[str]:
    # Whole addresses only: 10.0.0.1 must not eat the front of 10.0.0.12, nor the end of 110.0.0.1.
    if ":" in address:
        return re.compile(rf"(?<![0-9A-Fa-f:]){re.escape(address)}(?![0-9A-Fa-f:])", re.IGNORECASE)
    return re.compile(rf"(?<![0-9.]){re.escape(address)}(?![0-9]|\.[0-9])")


def addresses_to_scrub(measurement: dict[str, Any], peers: Iterable[str | None]) -> list[str]:
    """The probe's declared address and the submitter's, minus the placeholder itself."""
    found = {_address(measurement.get("probe_ip"))} | {_address(peer) for peer in peers}
    return sorted(address for address in found if address is not None and address != SCRUBBED_IP)


def scrub_measurement(measurement: dict[str, Any], peers: Iterable[str | None]) -> dict[str, Any]:
    """A scrubbed copy: probe_ip set to 127.0.0.1 and the addresses replaced in every string."""
    addresses = addresses_to_scrub(measurement, peers)
    if addresses:
        # One serialisation to skip the walk in the usual case: the address occurs nowhere.
        text = orjson.dumps(measurement).decode()
        addresses = [address for address in addresses if address in text or address.upper() in text]
    patterns = [_pattern(address) for address in addresses]
    cleaned = _scrub_value(measurement, patterns) if patterns else dict(measurement)
    assert isinstance(cleaned, dict)
    if "probe_ip" in cleaned:
        cleaned["probe_ip"] = SCRUBBED_IP
    return cleaned


def _scrub_value(value: Any, patterns: list[re.Pattern[str]]) -> Any:
    if isinstance(value, str):
        for pattern in patterns:
            value = pattern.sub(SCRUBBED_TEXT, value)
        return value
    if isinstance(value, dict):
        return {_scrub_value(key, patterns): _scrub_value(item, patterns) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub_value(item, patterns) for item in value]
    return value
