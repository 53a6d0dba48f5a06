"""What a run of `archive add` reports: counts of everything it met, and the first failures and
skips one by one."""

from __future__ import annotations

from dataclasses import dataclass, field

LISTED = 200  # failures and skips listed one by one in the report; all are counted


@dataclass
class AddReport:
    files: int = 0  # regular files found under the paths given
    added: int = 0  # new top-level documents
    children: int = 0  # new documents found inside them
    present: int = 0  # files the collection held already
    failed: int = 0  # documents (top-level or children) recorded as failed
    needs_ocr: int = 0  # documents with pages no OCR could read
    skipped: int = 0  # paths that are not documents (unreadable, special files) or children past a cap
    parts_failed: int = 0  # members and parts an extractor refused inside a document (zip bombs, encrypted)
    bytes_read: int = 0
    indexed: int = 0
    repaired: int = 0  # documents an earlier, interrupted run left unindexed
    retried: int = 0  # failed or needs-OCR documents extracted again (--retry)
    recovered: int = 0  # of them, those that extracted now
    seconds: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)
    skips: list[tuple[str, str]] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)  # each failure reason, with its count

    def fail(self, where: str, reason: str) -> None:
        self.failed += 1
        self.reasons[reason] = self.reasons.get(reason, 0) + 1
        if len(self.failures) < LISTED:
            self.failures.append((where, reason))

    def part_failed(self, where: str, reason: str) -> None:
        self.parts_failed += 1
        if len(self.failures) < LISTED:
            self.failures.append((where, reason))

    def skip(self, where: str, reason: str) -> None:
        self.skipped += 1
        if len(self.skips) < LISTED:
            self.skips.append((where, reason))

    def as_dict(self) -> dict[str, object]:
        return {
            "files": self.files, "added": self.added, "children": self.children, "present": self.present,
            "failed": self.failed, "parts_failed": self.parts_failed, "needs_ocr": self.needs_ocr,
            "skipped": self.skipped,
            "bytes_read": self.bytes_read, "indexed": self.indexed, "repaired": self.repaired,
            "retried": self.retried, "recovered": self.recovered,
            "seconds": round(self.seconds, 3),
            "reasons": dict(sorted(self.reasons.items(), key=lambda item: -item[1])),
            "failures": [{"document": where, "reason": reason} for where, reason in self.failures],
            "skips": [{"path": where, "reason": reason} for where, reason in self.skips],
        }
