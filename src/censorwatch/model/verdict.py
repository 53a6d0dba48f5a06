"""The one verdict per measurement that everything downstream shows (DESIGN.md, Verdicts)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Final

ANALYZER_VERSION: Final = "0.2.0"

OK: Final = "ok"
ANOMALY: Final = "anomaly"
CONFIRMED: Final = "confirmed"
FAILURE: Final = "failure"
VERDICTS: Final = (OK, ANOMALY, CONFIRMED, FAILURE)

DNS: Final = "dns"
TCP_IP: Final = "tcp_ip"
TLS: Final = "tls"
HTTP_FAILURE: Final = "http-failure"
HTTP_DIFF: Final = "http-diff"
QUIC: Final = "quic"  # QUIC/HTTP/3 fails where TCP and TLS to the same server work (probe test http3)
THROTTLING: Final = "throttling"  # reachable, but far slower than the control (probe test throttling)
BLOCKING_TYPES: Final = (DNS, TCP_IP, TLS, HTTP_FAILURE, HTTP_DIFF, QUIC, THROTTLING)


@dataclass(frozen=True)
class Verdict:
    """verdict None means the test is not analysed (unknown test name), never an error."""

    verdict: str | None
    blocking: str | None
    reason: str
    fingerprint: str | None = None
    ooni_blocking: str | None = None
    analyzer_version: str = ANALYZER_VERSION

    def __post_init__(self) -> None:
        if self.verdict is not None and self.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {self.verdict!r}")
        if self.blocking is not None and self.blocking not in BLOCKING_TYPES:
            raise ValueError(f"unknown blocking type {self.blocking!r}")

    def as_dict(self) -> dict[str, str | None]:
        # Field by field: dataclasses.asdict deep-copies recursively and was a tenth of the
        # store's time in OONI ingest.
        return {field.name: getattr(self, field.name) for field in _FIELDS}


def not_analysed(test_name: str | None, ooni_blocking: str | None = None) -> Verdict:
    return Verdict(None, None, "not analysed", ooni_blocking=ooni_blocking)


def ooni_blocking_text(value: object) -> str | None:
    """OONI's test_keys.blocking is a string, false, or null; we keep it as text ("false" for false)."""
    if value is None:
        return None
    if value is False:
        return "false"
    if value is True:
        return "true"
    return str(value)


_FIELDS = fields(Verdict)
