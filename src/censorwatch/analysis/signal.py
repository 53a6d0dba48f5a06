"""Signal (ooni/spec nettests/ts-029-signal.md): HTTPS GET to each Signal backend with Signal's
own CA; any failing endpoint means blocked. Versions known to give false results (the CA change
of ooni/probe#2344 and #2627, the v0.2.4 bug ooni/probe#2636, engines before 3.17.2 after
2023-05-02 per ooni/backend#679) are failures, as in ooni/backend fastpath score_signal."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from censorwatch.analysis.apps_common import (
    blocking_of,
    claim,
    failure_of,
    is_local,
    present,
    request_url,
    requests,
    test_keys,
)
from censorwatch.analysis.shapes import text
from censorwatch.model.measurement import parse_time
from censorwatch.model.verdict import ANOMALY, FAILURE, OK, Verdict


def _version(value: object) -> tuple[int, ...]:
    parts: list[int] = []
    for piece in str(value or "0").split("-")[0].split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def known_bad(measurement: Mapping[str, Any]) -> str | None:
    started = parse_time(measurement.get("measurement_start_time"))
    if started is None:
        return "no measurement_start_time"
    version = _version(measurement.get("test_version"))
    when = started.replace(tzinfo=None)
    if version == (0, 2, 4):
        return "signal v0.2.4 is broken (ooni/probe#2636)"
    if version <= (0, 2, 3) and when >= datetime(2023, 11, 7):
        return "signal <= v0.2.3 after 2023-11-07 uses a stale CA (ooni/probe#2627)"
    if version < (0, 2, 2) and when >= datetime(2022, 10, 19):
        return "signal < v0.2.2 after 2022-10-19 uses a stale CA (ooni/probe#2344)"
    annotations = measurement.get("annotations")
    annotations = annotations if isinstance(annotations, Mapping) else {}
    # backend#679 is a bug of OONI's engine; censorwatch's own probe never had it.
    ooni_engine = annotations.get("engine_name") != "censorwatch"
    if ooni_engine and _version(annotations.get("engine_version")) < (3, 17, 2) and when >= datetime(2023, 5, 2):
        return "engine < 3.17.2 after 2023-05-02 gives wrong signal results (ooni/backend#679)"
    return None


def ooni_claim(tk: Mapping[str, Any]) -> str | None:
    keys = present(tk, "signal_backend_status", "signal_backend_failure")
    status = tk.get("signal_backend_status")
    return claim(keys, None if status not in ("ok", "blocked") else status == "blocked")


def analyse(measurement: Mapping[str, Any]) -> Verdict:
    tk = test_keys(measurement)
    claimed = ooni_claim(tk)
    bad = known_bad(measurement)
    if bad:
        return Verdict(FAILURE, None, bad, ooni_blocking=claimed)
    done = requests(tk)
    if not done:
        status = tk.get("signal_backend_status")
        if status == "blocked":
            failure = text(tk.get("signal_backend_failure"))
            return Verdict(ANOMALY, blocking_of(failure) if failure else None,
                           f"Signal backend reported blocked ({failure})", ooni_blocking=claimed)
        if status == "ok":
            return Verdict(OK, None, "Signal backend reported reachable", ooni_blocking=claimed)
        return Verdict(FAILURE, None, "no Signal endpoint was measured", ooni_blocking=claimed)
    failed = [(request_url(r) or "?", f) for r in done if (f := failure_of(r))]
    if failed and all(is_local(f) for _, f in failed):
        return Verdict(FAILURE, None, f"the probe's network failed ({failed[0][1]})", ooni_blocking=claimed)
    if failed:
        url, failure = failed[0]
        return Verdict(ANOMALY, blocking_of(failure), f"{len(failed)} of {len(done)} Signal endpoints failed, "
                       f"first {url}: {failure}", ooni_blocking=claimed)
    return Verdict(OK, None, f"all {len(done)} Signal endpoints reachable", ooni_blocking=claimed)
