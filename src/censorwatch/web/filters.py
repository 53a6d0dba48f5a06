"""Search filters as the API and the forms take them: parsing, normalising, and the SQL WHERE
clause they become (on the measurements or on an aggregate table)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from censorwatch.model.verdict import BLOCKING_TYPES, VERDICTS

NOT_ANALYSED = "not analysed"


class BadQuery(ValueError):
    """A filter value we cannot use; the message says which and why."""


@dataclass(frozen=True)
class Filters:
    """`until` is exclusive; a day given as a date covers that whole day (see parse_bound)."""

    probe_cc: str | None = None
    probe_asn: str | None = None
    test_name: str | None = None
    input: str | None = None
    domain: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    verdict: tuple[str, ...] = ()
    blocking: tuple[str, ...] = ()

    def columns(self) -> set[str]:
        used = {
            name
            for name in ("probe_cc", "probe_asn", "test_name", "input", "domain")
            if getattr(self, name) is not None
        }
        if self.verdict:
            used.add("verdict")
        if self.blocking:
            used.add("blocking")
        if self.since is not None or self.until is not None:
            used.add("day")
        return used

    def whole_days(self) -> bool:
        return all(bound is None or bound.time() == time(0) for bound in (self.since, self.until))

    def as_params(self) -> dict[str, str]:
        """The filters as GET parameters (links and forms keep them)."""
        out: dict[str, str] = {}
        for name in ("probe_cc", "probe_asn", "test_name", "input", "domain"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.since is not None:
            out["since"] = format_bound(self.since)
        if self.until is not None:
            out["until"] = format_bound(self.until, upper=True)
        if self.verdict:
            out["verdict"] = ",".join(self.verdict)
        if self.blocking:
            out["blocking"] = ",".join(self.blocking)
        return out


def format_bound(moment: datetime, upper: bool = False) -> str:
    if moment.time() == time(0):
        return (moment.date() - timedelta(days=1) if upper else moment.date()).isoformat()
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def parse_bound(value: str | None, upper: bool = False) -> datetime | None:
    """"2025-05-27" or "2025-05-27T10:00:00[Z]". An upper bound given as a day includes that day."""
    if value is None or not value.strip():
        return None
    text = value.strip().removesuffix("Z").replace(" ", "T")
    try:
        if "T" not in text:
            day = date.fromisoformat(text)
            start = datetime.combine(day + timedelta(days=1) if upper else day, time(0))
            return start
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise BadQuery(f"not a date or time: {value!r} (use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS)") from error
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def parse_day(value: str | None, name: str) -> date | None:
    """A day parameter (YYYY-MM-DD, or nothing); raises BadQuery naming the parameter."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise BadQuery(f"{name} must be a date YYYY-MM-DD, not {value!r}") from error


def _choices(value: str | None, allowed: Sequence[str], name: str) -> tuple[str, ...]:
    if value is None or not value.strip():
        return ()
    chosen = tuple(part.strip().lower() for part in value.split(",") if part.strip())
    for item in chosen:
        if item not in allowed:
            raise BadQuery(f"unknown {name} {item!r}; choose from {', '.join(allowed)}")
    return chosen


def _blank(value: str | None) -> str | None:
    return value.strip() if value is not None and value.strip() else None


def make_filters(
    probe_cc: str | None = None,
    probe_asn: str | None = None,
    test_name: str | None = None,
    input: str | None = None,
    domain: str | None = None,
    since: str | None = None,
    until: str | None = None,
    verdict: str | None = None,
    blocking: str | None = None,
) -> Filters:
    """Filters from request parameters (strings as typed); raises BadQuery with a reason."""
    cc = _blank(probe_cc)
    if cc is not None and (len(cc) != 2 or not cc.isalpha()):
        raise BadQuery(f"probe_cc is a two-letter country code, not {cc!r}")
    asn = _blank(probe_asn)
    if asn is not None:
        digits = asn.upper().removeprefix("AS")
        if not digits.isdigit():
            raise BadQuery(f"probe_asn is a network number like AS12389, not {asn!r}")
        asn = f"AS{int(digits)}"
    target_domain = _blank(domain)
    return Filters(
        probe_cc=cc.upper() if cc else None,
        probe_asn=asn,
        test_name=_blank(test_name),
        input=_blank(input),
        domain=target_domain.lower() if target_domain else None,
        since=parse_bound(since),
        until=parse_bound(until, upper=True),
        verdict=_choices(verdict, (*VERDICTS, NOT_ANALYSED), "verdict"),
        blocking=_choices(blocking, BLOCKING_TYPES, "blocking type"),
    )


def target_filters(target: str, base: Filters | None = None) -> Filters:
    """A target is a URL (matches the measurement input) or a domain name."""
    base = base or Filters()
    text = target.strip()
    if "://" in text:
        return replace(base, input=text, domain=None)
    return replace(base, domain=text.lower().rstrip("."), input=None)


def where_clause(f: Filters, day_column: str | None) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for name in ("probe_cc", "probe_asn", "test_name", "input", "domain"):
        value = getattr(f, name)
        if value is not None:
            clauses.append(f"{name} = ?")
            params.append(value)
    if f.verdict:
        parts = []
        known = [v for v in f.verdict if v != NOT_ANALYSED]
        if known:
            parts.append("list_contains(?, verdict)")
            params.append(known)
        if NOT_ANALYSED in f.verdict:
            parts.append("verdict IS NULL")
        clauses.append("(" + " OR ".join(parts) + ")")
    if f.blocking:
        clauses.append("list_contains(?, blocking)")
        params.append(list(f.blocking))
    for bound, op in ((f.since, ">="), (f.until, "<")):
        if bound is None:
            continue
        if day_column is not None:
            clauses.append(f"{day_column} {op} ?")
            params.append(bound.date())
        else:
            clauses.append(f"measurement_start_time {op} ?")
            params.append(bound)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params
