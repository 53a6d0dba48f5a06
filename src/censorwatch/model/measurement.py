"""OONI base data format (ooni/spec data-formats/df-000-base.md): building, identifying and
reading the indexed fields of a measurement. The raw JSON stays the source of truth; these
helpers only derive from it."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import orjson
from blake3 import blake3

DATA_FORMAT_VERSION = "0.2.0"
OONI_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
WITHHELD_CC = "ZZ"
WITHHELD_ASN = "AS0"
SCRUBBED_IP = "127.0.0.1"


class MalformedMeasurement(ValueError):
    """The input is not a measurement we can index (not an object, or no test_name)."""


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(OONI_TIME_FORMAT)


_OONI_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")


def parse_time(value: object) -> datetime | None:
    """OONI times are "YYYY-MM-DD HH:MM:SS" UTC; the API also uses ISO 8601 with Z."""
    if not isinstance(value, str) or not value:
        return None
    text = value
    ooni_form = _OONI_TIME.fullmatch(text) is not None
    if not ooni_form:  # nearly every measurement has the form already: no normalising copies for it
        text = value.strip().replace("T", " ").removesuffix("Z")
        ooni_form = _OONI_TIME.fullmatch(text) is not None
    if ooni_form:
        # Nearly every measurement: fromisoformat takes a fortieth of strptime's time, which
        # showed in ingest profiles (bench/bench_ingest.py).
        try:
            return datetime.fromisoformat(text).replace(tzinfo=UTC)
        except ValueError:  # well formed but no such day or hour
            return None
    for fmt in (OONI_TIME_FORMAT, "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def domain_of(target: object) -> str | None:
    """The host name of a URL input, lower-cased; None for inputs that are not URLs."""
    if not isinstance(target, str) or not target:
        return None
    return _domain_of_text(target)


# Inputs repeat: every probe measures the same test lists, so a URL is split once.
@lru_cache(maxsize=16384)
def _domain_of_text(target: str) -> str | None:
    if "://" not in target:
        return target.lower().rstrip(".") if "." in target and "/" not in target else None
    try:
        host = urlsplit(target).hostname
    except ValueError:
        return None
    return host.rstrip(".") if host else None


def canonical_json(measurement: Mapping[str, Any]) -> bytes:
    return orjson.dumps(measurement, option=orjson.OPT_SORT_KEYS)


# OONI's raw files carry no uid (its uploader keeps the uid it assigns in its own database), so
# one is derived: BLAKE3 of the JSON exactly as received and stored, so that `b3sum` of a
# measurement's raw JSON gives its uid's suffix. The bytes as received, because re-serialising
# with sorted keys first cost 3.5-4.2 CPU s per 100,000 against 1.4 s; BLAKE3, because it took
# 0.12 CPU s per 20,000 OONI-shaped measurements (482 MB) against 0.35 s for sha256 on the CPU's
# SHA extensions (docs/ingest.md). BLAKE3 is a cryptographic hash like sha256, so a crafted
# measurement cannot take the uid of another and have it dropped as a duplicate. The same
# measurement serialised differently (say pretty-printed) gets a second uid; both copies are genuine.
def measurement_uid(measurement: Mapping[str, Any], raw: bytes | memoryview | None = None) -> str:
    """OONI's uid when the measurement carries one, else one derived from its bytes, so that
    ingesting the same measurement twice gives the same uid (idempotence). `raw` is the JSON as
    received and stored; without it, the measurement is serialised as analysis/record.py stores it."""
    return _measurement_uid(measurement, parse_time(measurement.get("measurement_start_time")), raw)


def _measurement_uid(measurement: Mapping[str, Any], started: datetime | None, raw: bytes | memoryview | None) -> str:
    # `started` is the measurement's start time, parsed once for the uid and meta_of.
    given = measurement.get("measurement_uid")
    if isinstance(given, str) and given:
        return given
    return _derived(measurement, started, raw)


def derived_uid(measurement: Mapping[str, Any], raw: bytes | memoryview | None = None) -> str:
    """The uid derived from the measurement's bytes, even when it carries one: what the same
    measurement read from a raw file would be stored under, for one fetched from OONI's API under
    OONI's uid."""
    return _derived(measurement, parse_time(measurement.get("measurement_start_time")), raw)


def _derived(measurement: Mapping[str, Any], started: datetime | None, raw: bytes | memoryview | None) -> str:
    content = orjson.dumps(measurement) if raw is None else raw
    return _stamped(measurement, started, blake3(content).hexdigest(16))


def new_measurement_uid(measurement: Mapping[str, Any]) -> str:
    """A fresh uid for a measurement we produce ourselves."""
    return uid_for(measurement, secrets.token_hex(16))


def uid_for(measurement: Mapping[str, Any], suffix: str) -> str:
    return _stamped(measurement, parse_time(measurement.get("measurement_start_time")), suffix)


def _stamped(measurement: Mapping[str, Any], started: datetime | None, suffix: str) -> str:
    # Same shape as OONI's measurement_uid: <start time>_<CC>_<testname>_<hex>.
    stamp = _stamp(started)
    cc = str(measurement.get("probe_cc") or WITHHELD_CC)[:2].upper()
    test = str(measurement.get("test_name") or "unknown").replace("_", "")
    return f"{stamp}_{cc}_{test}_{suffix}"


def _stamp(started: datetime | None) -> str:
    if started is None:
        return "00000000000000"
    if started.year < 1000:  # strftime's %Y does not pad these: their uids keep that form
        return started.strftime("%Y%m%d%H%M%S")
    # A third of strftime's time and half an f-string's, once per measurement (timeit).
    return "%04d%02d%02d%02d%02d%02d" % (  # noqa: UP031
        started.year, started.month, started.day, started.hour, started.minute, started.second
    )


def new_report_id(test_name: str, probe_cc: str, probe_asn: str, now: datetime | None = None) -> str:
    moment = now or datetime.now(UTC)
    asn = probe_asn.removeprefix("AS")
    return (
        f"{moment.strftime('%Y%m%dT%H%M%SZ')}_{test_name.replace('_', '')}_{probe_cc}_{asn}_n1_"
        f"{secrets.token_urlsafe(12)}"
    )


@dataclass(frozen=True)
class MeasurementMeta:
    """The columns we index; everything else stays in the raw JSON."""

    measurement_uid: str
    report_id: str | None
    input: str | None
    domain: str | None
    test_name: str
    test_version: str | None
    probe_cc: str
    probe_asn: str
    probe_network_name: str | None
    measurement_start_time: datetime | None
    software_name: str | None
    software_version: str | None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def meta_of(measurement: object, raw: bytes | memoryview | None = None) -> MeasurementMeta:
    """The indexed fields; `raw` as for measurement_uid."""
    if not isinstance(measurement, dict | Mapping):  # dict first: the common case, and cheap
        raise MalformedMeasurement(f"a measurement is a JSON object, not {type(measurement).__name__}")
    test_name = _text(measurement.get("test_name"))
    if test_name is None:
        raise MalformedMeasurement("measurement has no test_name")
    raw_input = measurement.get("input")
    target = raw_input if isinstance(raw_input, str) else None
    started = parse_time(measurement.get("measurement_start_time"))
    return MeasurementMeta(
        measurement_uid=_measurement_uid(measurement, started, raw),
        report_id=_text(measurement.get("report_id")),
        input=target,
        domain=domain_of(target),
        test_name=test_name,
        test_version=_text(measurement.get("test_version")),
        probe_cc=(_text(measurement.get("probe_cc")) or WITHHELD_CC).upper(),
        probe_asn=_text(measurement.get("probe_asn")) or WITHHELD_ASN,
        probe_network_name=_text(measurement.get("probe_network_name")),
        measurement_start_time=started,
        software_name=_text(measurement.get("software_name")),
        software_version=_text(measurement.get("software_version")),
    )


def scrub_probe_ip(measurement: dict[str, Any]) -> dict[str, Any]:
    """Never keep a probe's own address (DESIGN.md privacy): OONI's convention is 127.0.0.1."""
    if "probe_ip" in measurement:
        measurement["probe_ip"] = SCRUBBED_IP
    return measurement
