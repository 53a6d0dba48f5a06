"""Requests in the store: written all or nothing (an import with one bad record imports none),
listed, and found by the documents and targets they point to."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import duckdb

from censorwatch.archive.requests import BlockingRequest, DocumentRef, RequestError, Target
from censorwatch.archive.schema import ensure_archive_schema
from censorwatch.archive.store import now
from censorwatch.store.transaction import transaction

MAX_ERRORS = 50  # reported per import; the rest are counted

_COLUMNS = ("request_id", "requester", "recipient", "date", "legal_basis", "action", "outcome", "outcome_date",
            "note", "origin")


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    # References to documents the archive does not hold (yet): kept, listed as missing.
    missing_documents: set[str] = field(default_factory=set)
    errors: list[RequestError] = field(default_factory=list)
    error_count: int = 0

    def fail(self, error: RequestError) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(error)


class ImportFailed(Exception):
    """Some records were invalid: nothing was imported."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__(f"{report.error_count} invalid request(s); nothing imported")
        self.report = report


class RequestStore:
    def __init__(self, con: duckdb.DuckDBPyConnection, writable: bool = False) -> None:
        self.con = con
        if writable:
            ensure_archive_schema(con)

    def save(self, items: Iterable[tuple[str, BlockingRequest | RequestError]], origin: str) -> ImportReport:
        """Every request (each with where it was read), in one transaction; any RequestError
        among `items`, or two records with one id, rolls all back and raises ImportFailed naming
        each problem. Streams: each request is written as it comes, and the transaction undoes
        them when a later one is bad."""
        report = ImportReport()
        seen: dict[str, str] = {}
        with transaction(self.con):
            for where, item in items:
                if isinstance(item, RequestError):
                    report.fail(item)
                    continue
                if item.request_id in seen:
                    report.fail(RequestError(where, [f"request id {item.request_id!r} was given before, at "
                                                     f"{seen[item.request_id]}"]))
                    continue
                seen[item.request_id] = where
                if report.error_count:
                    continue  # nothing will be kept; go on only to find the other errors
                outcome = self._write(item, origin)
                setattr(report, outcome, getattr(report, outcome) + 1)
                report.missing_documents |= self._missing(item.documents)
            if report.error_count:
                raise ImportFailed(report)
        return report

    def _write(self, request: BlockingRequest, origin: str) -> str:
        """'added', 'updated' or 'unchanged' (the same record imported again)."""
        before = self.get(request.request_id)
        if before is not None and before["request"] == request:
            return "unchanged"
        values = [request.request_id, request.requester, request.recipient, request.date, request.legal_basis,
                  request.action, request.outcome, request.outcome_date, request.note, origin]
        stamp = now()
        updates = ", ".join(f"{name} = excluded.{name}" for name in _COLUMNS[1:])
        self.con.execute(
            f"INSERT INTO archive_requests ({', '.join(_COLUMNS)}, created_at, updated_at) "
            f"VALUES ({', '.join('?' * (len(_COLUMNS) + 2))}) "
            f"ON CONFLICT (request_id) DO UPDATE SET {updates}, updated_at = excluded.updated_at",
            [*values, stamp, stamp],
        )
        for table in ("archive_request_targets", "archive_request_documents"):
            self.con.execute(f"DELETE FROM {table} WHERE request_id = ?", [request.request_id])
        if request.targets:
            self.con.executemany(
                "INSERT INTO archive_request_targets VALUES (?, ?, ?, ?, ?)",
                [[request.request_id, n, t.kind, t.target, t.value] for n, t in enumerate(request.targets)],
            )
        if request.documents:
            self.con.executemany(
                "INSERT INTO archive_request_documents VALUES (?, ?, ?, ?)",
                [[request.request_id, n, d.kind, d.reference] for n, d in enumerate(request.documents)],
            )
        return "added" if before is None else "updated"

    def _missing(self, documents: tuple[DocumentRef, ...]) -> set[str]:
        missing: set[str] = set()
        for ref in documents:
            column = "doc_id" if ref.kind == "doc_id" else "sha256"
            rows = self.con.execute(
                f"SELECT 1 FROM archive_documents WHERE {column} = ? LIMIT 1", [ref.reference]
            ).fetchall()
            if not rows:
                missing.add(ref.reference)
        return missing

    def drop_document_links(self, doc_ids: list[str], sha256s: list[str]) -> list[dict[str, str]]:
        """Drops the links to removed documents and returns them (`request_id`, `kind`,
        `reference`): those naming a removed doc_id, and those naming a removed document's sha256
        that no remaining document holds (the same bytes kept in another collection still answer
        to it). The requests themselves stay. In the caller's transaction, after the documents'
        rows are deleted."""
        condition = ("((kind = 'doc_id' AND list_contains(?, reference)) OR (kind = 'sha256' "
                     "AND list_contains(?, reference) AND NOT EXISTS "
                     "(SELECT 1 FROM archive_documents d WHERE d.sha256 = archive_request_documents.reference)))")
        rows = self.con.execute(
            f"SELECT request_id, kind, reference FROM archive_request_documents WHERE {condition} "
            "ORDER BY request_id, position", [doc_ids, sha256s]
        ).fetchall()
        if not rows:
            return []
        self.con.execute(f"DELETE FROM archive_request_documents WHERE {condition}", [doc_ids, sha256s])
        # A request changed: its updated_at says when, as an import's update would.
        self.con.execute("UPDATE archive_requests SET updated_at = ? WHERE list_contains(?, request_id)",
                         [now(), sorted({row[0] for row in rows})])
        return [{"request_id": request_id, "kind": kind, "reference": reference}
                for request_id, kind, reference in rows]

    def get(self, request_id: str) -> dict[str, Any] | None:
        found = list(self._select("WHERE r.request_id = ?", [request_id]))
        return found[0] if found else None

    def listed(self, requester: str | None = None, recipient: str | None = None) -> Iterator[dict[str, Any]]:
        conditions, params = [], []
        if requester:
            conditions.append("r.requester ILIKE ?")
            params.append(f"%{requester}%")
        if recipient:
            conditions.append("r.recipient ILIKE ?")
            params.append(f"%{recipient}%")
        yield from self._select(f"WHERE {' AND '.join(conditions)}" if conditions else "", params)

    def for_document(self, doc_id: str, sha256: str) -> list[dict[str, Any]]:
        """Requests that point to this document, by its id or by its bytes."""
        return list(self._select(
            "WHERE r.request_id IN (SELECT request_id FROM archive_request_documents "
            "WHERE (kind = 'doc_id' AND reference = ?) OR (kind = 'sha256' AND reference = ?))", [doc_id, sha256]))

    def _select(self, where: str, params: list[Any]) -> Iterator[dict[str, Any]]:
        rows = self.con.execute(
            f"SELECT {', '.join('r.' + c for c in _COLUMNS)}, r.created_at, r.updated_at, "
            "(SELECT list({'kind': kind, 'target': target, 'value': value} ORDER BY position) "
            " FROM archive_request_targets t WHERE t.request_id = r.request_id), "
            "(SELECT list({'kind': kind, 'reference': reference} ORDER BY position) "
            " FROM archive_request_documents d WHERE d.request_id = r.request_id) "
            f"FROM archive_requests r {where} ORDER BY r.date, r.request_id", params
        ).fetchall()
        for row in rows:
            values = dict(zip(_COLUMNS, row[:len(_COLUMNS)], strict=True))
            targets = tuple(Target(t["kind"], t["target"], t["value"]) for t in row[-2] or [])
            documents = tuple(DocumentRef(d["kind"], d["reference"]) for d in row[-1] or [])
            request = BlockingRequest(
                request_id=values["request_id"], requester=values["requester"], recipient=values["recipient"],
                date=values["date"], action=values["action"], outcome=values["outcome"], targets=targets,
                documents=documents, legal_basis=values["legal_basis"], outcome_date=values["outcome_date"],
                note=values["note"],
            )
            yield {"request": request, "origin": values["origin"], "created_at": row[len(_COLUMNS)],
                   "updated_at": row[len(_COLUMNS) + 1]}
