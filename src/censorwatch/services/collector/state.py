"""What the collector remembers between requests, rebuilt from the spool on every start: the
reports (open or closed) and the uids already acknowledged, so a retry after a restart gets the
same answer (idempotence) and a closed report stays closed."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Final

OPEN: Final = "open"
MEASUREMENT: Final = "measurement"
CLOSE: Final = "close"


@dataclass
class Report:
    report_id: str
    test_name: str
    probe_cc: str
    probe_asn: str
    closed: bool = False
    measurements: int = 0
    # Monotonic (bk-003 §3 asks timers to survive clock jumps); a restart starts every timer
    # afresh, which can only close a report later, never earlier.
    last_activity: float = field(default_factory=time.monotonic)


class CollectorState:
    """Apply spool events in order. Memory grows with the number of acknowledged uids (about
    150 bytes each), which the spool scan at start-up has to rebuild anyway."""

    def __init__(self) -> None:
        self.reports: dict[str, Report] = {}
        self.acknowledged: set[str] = set()

    def apply(self, event: dict[str, Any]) -> None:
        kind = event.get("kind")
        report_id = event.get("report_id")
        if not isinstance(report_id, str):
            return
        if kind == OPEN:
            self.reports[report_id] = Report(
                report_id,
                str(event.get("test_name", "")),
                str(event.get("probe_cc", "")),
                str(event.get("probe_asn", "")),
            )
        elif kind == MEASUREMENT:
            uid = event.get("uid")
            if isinstance(uid, str) and uid not in self.acknowledged:
                self.acknowledged.add(uid)
                report = self.reports.get(report_id)
                if report is not None:
                    report.measurements += 1
                    report.last_activity = time.monotonic()
        elif kind == CLOSE:
            report = self.reports.get(report_id)
            if report is not None:
                report.closed = True
