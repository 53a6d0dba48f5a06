"""`throttling` (ours; OONI has no such test): per target URL, download it several times,
interleaved with a control download on a server not suspected of throttling, and with the
target's own address under a decoy server name, timing each TLS handshake and body transfer.

Why these three: the control says whether the network is slow at this moment (congestion slows
both); the decoy asks the target's own server under an innocuous SNI, as ooni/probe-cli's
dd-007 proposes, so a server that is slow for everyone is not mistaken for one throttled by
name (Russia's 2021 Twitter throttling keyed on the TLS server name, Xue et al., IMC 2021).
The history of the same target on the same network (context.history) is summarised into
test_keys.history: one slow run is an anomaly, confirmed needs earlier slow runs
(analysis/throttling.py). Downloads run one after the other, never at once: two flows sharing
the link would measure each other.

Section keys (docs/probe-endpoints.md): control_url (required), targets, decoy_server_name,
samples, max_bytes, max_seconds, history_limit."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from censorwatch.analysis.throttling import history_summary
from censorwatch.probe.dns_lookup import lookup
from censorwatch.probe.endpoints_file import EndpointsError
from censorwatch.probe.experiment import ExperimentContext, finish, new_measurement
from censorwatch.probe.experiments._download import Plan, download

TEST_NAME = "throttling"
TEST_VERSION = "0.1.0"
TAKES_URLS = True

DEFAULT_SAMPLES = 3
DEFAULT_MAX_BYTES = 1 << 19  # dd-007's body cap
DEFAULT_MAX_SECONDS = 10.0  # dd-007: ten seconds for HTTP after the handshake
DEFAULT_HISTORY_LIMIT = 20


def _url(value: object, key: str) -> str:
    if not isinstance(value, str) or urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).hostname:
        raise EndpointsError(f"throttling: {key} must be an http(s) URL, not {value!r}")
    return value


def _positive(section: Mapping[str, Any], key: str, default: float, kind: type) -> Any:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0 or (kind is int and
                                                                                       not isinstance(value, int)):
        raise EndpointsError(f"throttling: {key} must be a positive {kind.__name__}, not {value!r}")
    return kind(value)


def settings(section: Mapping[str, Any]) -> dict[str, Any]:
    """The section, checked; raises EndpointsError naming the bad key."""
    decoy = section.get("decoy_server_name", "")
    if decoy is not None and not isinstance(decoy, str):
        raise EndpointsError(f"throttling: decoy_server_name must be a name, \"\" (no SNI) or null (no decoy), "
                             f"not {decoy!r}")
    samples = _positive(section, "samples", DEFAULT_SAMPLES, int)
    if samples < 2:
        raise EndpointsError("throttling: samples must be at least 2 (one sample cannot be compared)")
    return {
        "control_url": _url(section.get("control_url"), "control_url"),
        "decoy_server_name": decoy,
        "samples": samples,
        "max_bytes": _positive(section, "max_bytes", DEFAULT_MAX_BYTES, int),
        "max_seconds": _positive(section, "max_seconds", DEFAULT_MAX_SECONDS, float),
        "history_limit": _positive(section, "history_limit", DEFAULT_HISTORY_LIMIT, int),
    }


def inputs(section: Mapping[str, Any]) -> list[str | None]:
    """The section's default targets, for a run given no URLs."""
    targets = section.get("targets", [])
    if not isinstance(targets, list):
        raise EndpointsError("throttling: targets must be a list of URLs")
    return [_url(target, "targets[]") for target in targets]


def deadline(context: ExperimentContext) -> float:
    """Every download capped, plus DNS and a connect + handshake timeout each (the runner's bound)."""
    s = settings(context.section)
    downloads: int = s["samples"] * 3
    cap: float = s["max_seconds"]
    return downloads * (cap + 2 * context.config.timeout) + 2 * context.config.timeout + 10


def _plans(url: str, target_ip: str, control_url: str, control_ip: str, s: Mapping[str, Any]) -> list[Plan]:
    host = urlsplit(url).hostname or ""
    https = urlsplit(url).scheme == "https"
    plans: list[Plan] = []
    for round_ in range(s["samples"]):
        plans.append(Plan("target", round_, url, target_ip, host, True, s["max_bytes"], s["max_seconds"]))
        plans.append(Plan("control", round_, control_url, control_ip, urlsplit(control_url).hostname,
                          True, s["max_bytes"], s["max_seconds"]))
        if https and s["decoy_server_name"] is not None:
            plans.append(Plan("decoy", round_, url, target_ip, s["decoy_server_name"] or None, False,
                              s["max_bytes"], s["max_seconds"]))
    return plans


async def measure(input: str | None, context: ExperimentContext) -> dict[str, Any]:
    t0 = time.monotonic()
    measurement = new_measurement(TEST_NAME, TEST_VERSION, input, context)
    s = settings(context.section)
    url = _url(input, "the input")
    config = context.config
    target_dns = await lookup(urlsplit(url).hostname or "", config, t0)
    control_dns = await lookup(urlsplit(s["control_url"]).hostname or "", config, t0)
    tk: dict[str, Any] = {
        "control_url": s["control_url"],
        "decoy_server_name": s["decoy_server_name"],
        "samples": s["samples"],
        "max_bytes": s["max_bytes"],
        "max_seconds": s["max_seconds"],
        "queries": target_dns.queries + control_dns.queries,
        "resolve": {
            "target": {"addresses": target_dns.addrs, "failure": target_dns.failure},
            "control": {"addresses": control_dns.addrs, "failure": control_dns.failure},
        },
        "downloads": [],
        "history": None,
        "failure": None,
    }
    if target_dns.addrs and control_dns.addrs:
        # One address each for every sample: samples from different servers would not compare.
        for plan in _plans(url, target_dns.addrs[0], s["control_url"], control_dns.addrs[0], s):
            tk["downloads"].append(await download(plan, config, t0))
    if context.history is not None:
        earlier = context.history.earlier(TEST_NAME, input, config.probe_asn, s["history_limit"])
        tk["history"] = history_summary(earlier, exclude_report=context.report_id)
    return finish(measurement, tk, t0)
