"""Documents and requests naming a target (a domain, a URL or an IP address): the target page's
section and /api/v1/archive/targets, from one function.

A target is read as the register reads it (store.registry.parse_target), and the archive stores
entities and request targets in the same normal forms (punycode hosts, canonical URLs), so plain
equality joins them. A document names a target when one of its entities is:

* the URL itself (`url`);
* the domain, or for a URL its host (`domain`) - the archive records every URL's host as a
  domain entity too, so a document citing any page of the site is found;
* the same name with or without `www.` (`www`);
* a subdomain of the domain (`subdomain`: `photo.pontorez.com` for `pontorez.com`), as a search
  for a domain finds its hosts;
* a parent domain (`parent domain`: `rkn.gov.ru` for `eais.rkn.gov.ru`): an order against the
  whole site covers this host;
* for an address, the address or a network holding it (`address`, `network`).

Requests match the same way through their targets; a request naming a URL matches by that URL's
host as well. Each item says how it matched, closest first."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import duckdb

from censorwatch.archive.domains import parent_domains
from censorwatch.archive.masking import OFFICIAL, OfficialContacts, mask_text
from censorwatch.archive.views import ArchiveRows, iso, request_view
from censorwatch.store.registry import LookupError_, parse_target
from censorwatch.web.queries import BadQuery

MAX_ITEMS = 200
_SCAN_CAP = 5000  # documents read before ranking: enough for any page, bounded for `gov.ru`
HOW = ("url", "domain", "www", "address", "network", "subdomain", "parent domain")
_RANK = {how: position for position, how in enumerate(HOW)}


@dataclass(frozen=True)
class Wanted:
    """What names the target: exact (type, value) pairs with how each matches, and the domain
    whose subdomains match (None for a URL or an address)."""

    kind: str
    value: str
    pairs: dict[tuple[str, str], str]
    subdomains_of: str | None

    def host_match(self, host: str) -> str | None:
        how = self.pairs.get(("domain", host))
        if how is None and self.subdomains_of and host.endswith("." + self.subdomains_of):
            how = "subdomain"
        return how


def _www_variant(domain: str) -> str:
    return domain.removeprefix("www.") if domain.startswith("www.") else "www." + domain


def wanted(target: str) -> Wanted:
    try:
        parsed = parse_target(target)
    except LookupError_ as error:
        raise BadQuery(f"{target.strip()!r} is not a domain, a URL or an IP address: {error}") from error
    pairs: dict[tuple[str, str], str] = {}
    if parsed.kind == "ip":
        pairs[("ip", parsed.value)] = "address"
        return Wanted("ip", parsed.value, pairs, None)
    if parsed.kind == "url":
        pairs[("url", parsed.value)] = "url"
    host = parsed.host if parsed.kind == "url" else parsed.value
    if host:
        pairs[("domain", host)] = "domain"
        pairs.setdefault(("domain", _www_variant(host)), "www")
        for parent in parent_domains(host):
            pairs.setdefault(("domain", parent), "parent domain")
    return Wanted(parsed.kind, parsed.value, pairs, host if parsed.kind == "domain" else None)


def _networks(con: duckdb.DuckDBPyConnection, sql: str, address: str) -> list[str]:
    """Stored networks (`10.0.0.0/8`) holding `address`: few, so compared here."""
    ip = ipaddress.ip_address(address)
    held = []
    for (value,) in con.execute(sql).fetchall():
        try:
            if ip in ipaddress.ip_network(value, strict=False):
                held.append(str(value))
        except ValueError:
            continue
    return held


def naming(archive: ArchiveRows, exists: bool, target: str, include_private: bool = False,
           limit: int = MAX_ITEMS, official: OfficialContacts = OFFICIAL) -> dict[str, Any]:
    """{"target", "kind", "value", "documents", "documents_total", "requests"}: the documents shown
    (private collections only with include_private; contacts masked otherwise) and the requests
    naming `target`, closest match first, then newest. Raises BadQuery for a target that is
    neither a domain, a URL nor an address."""
    want = wanted(target)
    found: dict[str, Any] = {"target": target.strip(), "kind": want.kind, "value": want.value, "documents": [],
                             "documents_total": 0, "requests": []}
    if not exists:
        return found
    if want.kind == "ip":
        networks = _networks(archive.con, "SELECT value FROM archive_entities WHERE type = 'ip' AND contains(value, "
                                          "'/') UNION SELECT value FROM archive_request_targets WHERE kind = 'ip' "
                                          "AND contains(value, '/')", want.value)
        want = Wanted(want.kind, want.value, {**want.pairs, **{("ip", net): "network" for net in networks}}, None)
    documents = _documents(archive.con, want, include_private, official)
    found["documents_total"] = len(documents)
    found["documents"] = documents[:limit]
    found["requests"] = _requests(archive, want, include_private, official)[:limit]
    return found


def _documents(con: duckdb.DuckDBPyConnection, want: Wanted, include_private: bool,
               official: OfficialContacts) -> list[dict[str, Any]]:
    values = sorted({value for _, value in want.pairs})
    suffix = "." + want.subdomains_of if want.subdomains_of else None
    visible = "" if include_private else " AND NOT coalesce(c.private, false)"
    rows = con.execute(
        f"""WITH hits AS (
                SELECT doc_id, type, value, count(*) AS mentions FROM archive_entities
                WHERE (type IN ('url', 'domain', 'ip') AND value IN ({', '.join('?' for _ in values)}))
                   OR (type = 'domain' AND ? IS NOT NULL AND ends_with(value, ?))
                GROUP BY ALL)
            SELECT d.doc_id, d.title, d.name, d.collection, d.language, d.date, d.kind, d.parent_id,
                   list({{'type': h.type, 'value': h.value, 'mentions': h.mentions}} ORDER BY h.type, h.value)
            FROM hits h JOIN archive_documents d ON d.doc_id = h.doc_id
            LEFT JOIN archive_collections c ON c.name = d.collection
            WHERE true{visible} GROUP BY ALL ORDER BY d.date DESC NULLS LAST, d.doc_id LIMIT {_SCAN_CAP}""",
        [*values, suffix, suffix],
    ).fetchall()
    public = not include_private
    documents = []
    for doc_id, title, name, collection, language, day, kind, parent_id, hits in rows:
        matched = []
        for hit in hits:
            how = want.pairs.get((hit["type"], hit["value"]))
            if how is None and hit["type"] == "domain":
                how = want.host_match(hit["value"])
            if how is not None:
                matched.append({**hit, "how": how})
        if not matched:
            continue  # an ip-typed value equal to a wanted domain, or the like
        matched.sort(key=lambda item: _RANK[item["how"]])
        documents.append({
            "doc_id": doc_id, "title": _masked(title or name, public, official),
            "name": _masked(name, public, official), "collection": collection, "language": language,
            "date": iso(day), "kind": kind, "parent_id": parent_id, "how": matched[0]["how"], "matched": matched,
        })
    # Closest match first; the query gave newest first, and sorting keeps that within each.
    documents.sort(key=lambda item: _RANK[item["how"]])
    return documents


def _masked(text: str | None, public: bool, official: OfficialContacts) -> str | None:
    return mask_text(text, official) if public and text else text


def _requests(archive: ArchiveRows, want: Wanted, include_private: bool,
              official: OfficialContacts) -> list[dict[str, Any]]:
    values = sorted({value for _, value in want.pairs})
    domains = sorted({value for kind, value in want.pairs if kind == "domain"}) or [""]
    suffix = "." + want.subdomains_of if want.subdomains_of else None
    # A URL target's host, found here only to narrow the rows; _request_match decides.
    rows = archive.con.execute(
        f"""WITH t AS (SELECT request_id, position, kind, value,
                              CASE WHEN kind = 'url' THEN regexp_extract(value, '^[^:/]+://([^/?#:]+)', 1) END AS host
                       FROM archive_request_targets)
            SELECT request_id, kind, value FROM t
            WHERE value IN ({', '.join('?' for _ in values)}) OR host IN ({', '.join('?' for _ in domains)})
               OR (? IS NOT NULL AND (ends_with(value, ?) OR ends_with(host, ?)))
            ORDER BY request_id, position""",
        [*values, *domains, suffix, suffix, suffix],
    ).fetchall()
    matched: dict[str, list[dict[str, str]]] = {}
    for request_id, kind, value in rows:
        how = _request_match(want, kind, value)
        if how is not None:
            matched.setdefault(request_id, []).append({"kind": kind, "value": value, "how": how})
    requests = []
    for request_id, targets in matched.items():
        item = archive.requests.get(request_id)
        if item is None:
            continue
        targets.sort(key=lambda target: _RANK[target["how"]])
        requests.append({**request_view(item, not include_private, official), "how": targets[0]["how"],
                         "matched": targets})
    requests.sort(key=lambda request: str(request["date"]), reverse=True)
    requests.sort(key=lambda request: _RANK[request["how"]])
    return requests


def _request_match(want: Wanted, kind: str, value: str) -> str | None:
    how = want.pairs.get((kind, value))
    if how is not None:
        return how
    if kind == "domain":
        return want.host_match(value)
    if kind == "url":
        host = urlsplit(value).hostname
        return want.host_match(host) if host else None
    return None
