"""dnscheck (ooni/spec nettests/ts-028-dnscheck.md): can the probe use a DoT/DoH resolver?
A bootstrap failure (the resolver's own name did not resolve) is DNS blocking; when every
lookup endpoint fails the resolver is blocked at the layer of the failed operation; when at
least one endpoint works the service is usable (ok, the reason says how many failed)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from censorwatch.analysis.apps_common import blocking_of, claim, is_local, test_keys
from censorwatch.analysis.shapes import mapping, text
from censorwatch.model.verdict import ANOMALY, DNS, FAILURE, OK, Verdict


def ooni_claim(tk: Mapping[str, Any]) -> str | None:
    lookups = mapping(tk.get("lookups"))
    keys: list[tuple[str, object]] = []
    if "bootstrap_failure" in tk:
        keys.append(("bootstrap_failure", tk.get("bootstrap_failure")))
    if lookups:
        failed = sum(1 for v in lookups.values() if text(mapping(v).get("failure")))
        keys.append(("lookups_failed", f"{failed}/{len(lookups)}"))
    return claim(keys, None)


def analyse(measurement: Mapping[str, Any]) -> Verdict:
    tk = test_keys(measurement)
    claimed = ooni_claim(tk)
    bootstrap = text(tk.get("bootstrap_failure"))
    if bootstrap:
        if is_local(bootstrap):
            return Verdict(FAILURE, None, f"the probe's network failed ({bootstrap})", ooni_blocking=claimed)
        return Verdict(ANOMALY, DNS, f"the resolver's name did not resolve: {bootstrap}", ooni_blocking=claimed)
    lookups = {str(k): mapping(v) for k, v in mapping(tk.get("lookups")).items()}
    if not lookups:
        return Verdict(FAILURE, None, "no lookup was made", ooni_blocking=claimed)
    failed = {k: v for k, v in lookups.items() if text(v.get("failure"))}
    if not failed:
        return Verdict(OK, None, f"the resolver answered on all {len(lookups)} endpoints", ooni_blocking=claimed)
    failures = [str(v.get("failure")) for v in failed.values()]
    if all(is_local(f) for f in failures):
        return Verdict(FAILURE, None, f"the probe's network failed ({failures[0]})", ooni_blocking=claimed)
    if len(failed) < len(lookups):
        return Verdict(OK, None, f"the resolver answered on {len(lookups) - len(failed)} of {len(lookups)} "
                       "endpoints", ooni_blocking=claimed)
    layers = Counter(
        blocking_of(str(v.get("failure")), text(v.get("failed_operation")), https=True) for v in failed.values()
    )
    endpoint, first = next(iter(failed.items()))
    return Verdict(ANOMALY, layers.most_common(1)[0][0], f"all {len(lookups)} resolver endpoints failed, "
                   f"first {endpoint}: {first.get('failure')}", ooni_blocking=claimed)
