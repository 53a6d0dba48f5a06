"""The lab's cases: what each does to the censored source and the verdict the analysis should give
(docs/verdicts.md; OONI Web Connectivity v0.4 blocking types)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from censorwatch.model.verdict import ANOMALY, CONFIRMED, DNS, HTTP_DIFF, HTTP_FAILURE, OK, TCP_IP, TLS


@dataclass(frozen=True)
class LabCase:
    name: str
    url: str
    expected_verdict: str
    expected_blocking: str | None
    needs_root: bool
    description: str


@dataclass(frozen=True)
class CaseSpec:
    name: str
    scheme: str
    expected_verdict: str
    expected_blocking: str | None
    needs_root: bool
    description: str
    # What OONI Web Connectivity v0.4 says (test_keys.blocking as text) when it differs from our blocking type
    # mapped to v0.4's (tls -> http-failure, none -> false): the blockpages no fingerprint knows pass as accessible.
    ooni_blocking: str | None = None


SPECS: Final = (
    CaseSpec("ok-http", "http", OK, None, False, "honest http site, same answer for everyone"),
    CaseSpec("ok-https", "https", OK, None, False, "honest https site (lab CA)"),
    CaseSpec(
        "dns-blockpage",
        "http",
        CONFIRMED,
        DNS,
        False,
        "DNS points the censored source to a blockpage server carrying OONI's RU fingerprint ooni.ru_0",
    ),
    CaseSpec("dns-nxdomain", "http", ANOMALY, DNS, False, "NXDOMAIN for the censored source"),
    CaseSpec("dns-forged", "http", ANOMALY, DNS, False, "forged A record: an unused 127.x address, nothing listens"),
    CaseSpec("tcp-drop", "http", ANOMALY, TCP_IP, True, "iptables DROP of the censored SYNs: connect times out"),
    CaseSpec(
        "tcp-reject",
        "http",
        ANOMALY,
        TCP_IP,
        True,
        "iptables REJECT --reject-with tcp-reset: the censored source's SYN gets a RST (connection_refused)",
    ),
    CaseSpec(
        "tcp-reset-after-accept",
        "http",
        ANOMALY,
        HTTP_FAILURE,
        False,
        "no-root reset: the server accepts the censored source, then RSTs before any byte; TCP connect succeeded, "
        "so OONI attributes the failure to the first failing layer, HTTP",
    ),
    CaseSpec("tls-sni-reset", "https", ANOMALY, TLS, False, "RST when the ClientHello's SNI is on the block list"),
    CaseSpec("tls-mitm", "https", ANOMALY, TLS, False, "certificate from an untrusted CA for the censored source"),
    CaseSpec(
        "http-blockpage",
        "http",
        CONFIRMED,
        HTTP_DIFF,
        False,
        "the censored source gets an injected blockpage (RU fingerprint ooni.ru_0) instead of the site",
    ),
    CaseSpec("http-host-reset", "http", ANOMALY, HTTP_FAILURE, False, "RST when the Host header is on the block list"),
    CaseSpec(
        "dns-blockpage-lookalike",
        "http",
        ANOMALY,
        DNS,
        False,
        "DNS points the censored source to a blockpage server that copies the origin's headers (Server, X-Lab-Site) "
        "and status 200 and serves a short legal notice no fingerprint knows",
        ooni_blocking="false",
    ),
    CaseSpec(
        "http-legal-notice",
        "http",
        ANOMALY,
        HTTP_DIFF,
        False,
        "in-path injection of a short legal notice (149-FZ) with the origin's header names and status 200, "
        "no fingerprint",
        ooni_blocking="false",
    ),
    CaseSpec("site-down", "http", OK, None, False, "resolves for everyone, nothing listens: website down"),
    CaseSpec("dynamic", "http", OK, None, False, "random tokens and a slightly different length each load"),
    CaseSpec("huge-body", "http", OK, None, False, "a body that never ends: both sides cap it"),
    CaseSpec(
        "news-about-blocking",
        "http",
        OK,
        None,
        False,
        "not censorship: an article about blocking (149-FZ, the register), same title for everyone, a much longer "
        "comment thread for the censored source",
    ),
    CaseSpec(
        "ab-variant",
        "http",
        OK,
        None,
        False,
        "not censorship: an A/B test puts the censored source in arm B (another title and length, same headers)",
    ),
)
