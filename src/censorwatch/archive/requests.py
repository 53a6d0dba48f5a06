"""Requests as records: who asked whom to block (or delete, or restrict) what, when, under which
legal basis, and what came of it (Lumen's notice roles: requester = sender or issuing court,
recipient, targets). The formats and the rules: docs/archive-requests.md.

`build_request` turns one record (from YAML, CSV or the command line) into a BlockingRequest or
raises RequestError naming every problem of that record at once, with where it was."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from censorwatch.model.registry import NormaliseError, canonical_url, normalise_address, normalise_domain

OUTCOMES = ("complied", "refused", "partial", "unknown")
TARGET_KINDS = ("url", "domain", "ip", "account")
FIELDS = ("id", "requester", "recipient", "date", "legal_basis", "action", "outcome", "outcome_date", "note",
          "targets", "documents")

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")
_ACTION = re.compile(r"^[a-z][a-z -]{0,39}$")
_PARTIAL_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
_DOC_ID = re.compile(r"^[0-9a-f]{20}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_ACCOUNT = re.compile(r"^(?:(?P<platform>[a-z][a-z0-9.-]*):)?@?(?P<handle>[\w.-]{1,100})$")
MAX_TEXT = 10_000


class RequestError(ValueError):
    """A record that is not a valid request; `where` says which (e.g. "line 7")."""

    def __init__(self, where: str, problems: Sequence[str]) -> None:
        super().__init__(f"{where}: " + "; ".join(problems))
        self.where = where
        self.problems = list(problems)


@dataclass(frozen=True)
class Target:
    kind: str  # one of TARGET_KINDS
    target: str  # as given
    value: str  # normalised: the URL canonical, the domain in ASCII, the address compressed


@dataclass(frozen=True)
class DocumentRef:
    kind: str  # "doc_id" or "sha256"
    reference: str


@dataclass(frozen=True)
class BlockingRequest:
    request_id: str
    requester: str
    recipient: str
    date: str  # YYYY, YYYY-MM or YYYY-MM-DD: as precise as it is known
    action: str
    outcome: str
    targets: tuple[Target, ...]
    documents: tuple[DocumentRef, ...] = ()
    legal_basis: str | None = None
    outcome_date: str | None = None
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.request_id, "requester": self.requester, "recipient": self.recipient, "date": self.date,
            "legal_basis": self.legal_basis, "action": self.action, "outcome": self.outcome,
            "outcome_date": self.outcome_date, "note": self.note,
            "targets": [{"kind": t.kind, "target": t.target, "value": t.value} for t in self.targets],
            "documents": [{"kind": d.kind, "reference": d.reference} for d in self.documents],
        }


def parse_target(text: str) -> Target:
    """A URL (with a scheme), an IP address, an account (`@name` or `platform:name`) or a domain.
    Raises ValueError with the reason."""
    value = text.strip()
    if not value:
        raise ValueError("an empty target")
    if "://" in value:
        try:
            return Target("url", value, canonical_url(value))
        except NormaliseError as error:
            raise ValueError(f"target {value!r} is not a URL: {error}") from error
    try:
        return Target("ip", value, str(normalise_address(value.strip("[]"))))
    except NormaliseError:
        pass
    account = _ACCOUNT.match(value)
    if account and (value.startswith("@") or account.group("platform")):
        platform = account.group("platform")
        handle = account.group("handle").lower()
        return Target("account", value, f"{platform}:@{handle}" if platform else f"@{handle}")
    if "/" in value:
        raise ValueError(f"target {value!r}: a URL needs its scheme (http:// or https://)")
    try:
        return Target("domain", value, normalise_domain(value).ascii)
    except NormaliseError as error:
        raise ValueError(f"target {value!r} is neither a URL, a domain, an IP address nor an account") from error


def parse_document(text: str) -> DocumentRef:
    reference = text.strip().lower()
    if _DOC_ID.match(reference):
        return DocumentRef("doc_id", reference)
    if _SHA256.match(reference):
        return DocumentRef("sha256", reference)
    raise ValueError(f"document {text.strip()!r} is neither a document id (20 hex digits) nor a sha256 (64)")


def _date(value: object, name: str, problems: list[str]) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    if not _PARTIAL_DATE.match(text):
        problems.append(f"{name} must be YYYY-MM-DD, YYYY-MM or YYYY, not {text!r}")
        return None
    try:
        date.fromisoformat(text if len(text) == 10 else text + ("-01" if len(text) == 7 else "-01-01"))
    except ValueError:
        problems.append(f"{name} {text!r} is not a date")
        return None
    return text


def _text(value: object, name: str, problems: list[str]) -> str | None:
    if value is None:
        return None
    if isinstance(value, list | dict | tuple):
        problems.append(f"{name} must be text, not a list or a mapping")
        return None
    text = str(value).strip()
    if len(text) > MAX_TEXT:
        problems.append(f"{name} is longer than {MAX_TEXT} characters")
        return None
    return text or None


def _list(value: object, name: str, problems: list[str]) -> list[str]:
    """A list field: a YAML list, or a text of items separated by whitespace (a CSV cell)."""
    if value is None:
        return []
    if isinstance(value, dict):
        problems.append(f"{name} must be a list or a text, not a mapping")
        return []
    if not isinstance(value, list | tuple):
        return str(value).split()
    items: list[str] = []
    for item in value:
        if isinstance(item, list | tuple | dict):
            problems.append(f"{name}: each item must be one text, not a list or a mapping")
            return []
        if item is not None and str(item).strip():
            items.append(str(item).strip())
    return items


def derived_id(requester: str, recipient: str, when: str, action: str, targets: Sequence[Target]) -> str:
    """The id of a request given without one: the same record imported twice is the same request."""
    key = "\0".join([requester.casefold(), recipient.casefold(), when, action,
                     *sorted(t.value for t in targets)])
    return "req-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


def build_request(fields: Mapping[str, object], where: str) -> BlockingRequest:
    """A validated request from one record's fields (names of FIELDS); every problem at once."""
    problems: list[str] = []
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        problems.append(f"unknown field(s) {', '.join(unknown)} (known: {', '.join(FIELDS)})")
    text = {name: _text(fields.get(name), name, problems)
            for name in ("id", "requester", "recipient", "legal_basis", "action", "outcome", "note")}
    for name in ("requester", "recipient", "action"):
        if not text.get(name):
            problems.append(f"{name} is required")
    when = _date(fields.get("date"), "date", problems)
    if when is None and not any(p.startswith("date") for p in problems):
        problems.append("date is required")
    outcome_date = _date(fields.get("outcome_date"), "outcome_date", problems)
    action = (text["action"] or "").lower()
    if action and not _ACTION.match(action):
        problems.append(f"action {action!r} must be a short lower-case word or phrase (block, delete, restrict)")
    outcome = (text["outcome"] or "unknown").lower()
    if outcome not in OUTCOMES:
        problems.append(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
    given_targets = _list(fields.get("targets"), "targets", problems)
    targets: list[Target] = []
    for item in given_targets:
        try:
            targets.append(parse_target(item))
        except ValueError as error:
            problems.append(str(error))
    if not given_targets and not any(p.startswith("targets") for p in problems):
        problems.append("targets: at least one URL, domain, IP address or account is required")
    documents: list[DocumentRef] = []
    for item in _list(fields.get("documents"), "documents", problems):
        try:
            documents.append(parse_document(item))
        except ValueError as error:
            problems.append(str(error))
    request_id = text["id"]
    if request_id is not None and not _ID.match(request_id):
        problems.append(f"id {request_id!r} must be letters, digits, '.', '_', ':' or '-' (at most 100)")
    if problems:
        raise RequestError(where, problems)
    assert text["requester"] and text["recipient"] and when
    unique_targets = tuple({t.value: t for t in targets}.values())
    return BlockingRequest(
        request_id=request_id or derived_id(text["requester"], text["recipient"], when, action, unique_targets),
        requester=text["requester"], recipient=text["recipient"], date=when, action=action, outcome=outcome,
        targets=unique_targets, documents=tuple(dict.fromkeys(documents)), legal_basis=text["legal_basis"],
        outcome_date=outcome_date, note=text["note"],
    )
