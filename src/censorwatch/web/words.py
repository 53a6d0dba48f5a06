"""Plain words for a reader who is not a network engineer (docs/verdicts.md has the rules)."""

from __future__ import annotations

VERDICT_WORDS: dict[str, tuple[str, str]] = {
    "ok": ("No sign of blocking", "The probe reached the site or service as an uncensored network does."),
    "anomaly": (
        "Possible blocking",
        "The probe saw something different from the control. This is often censorship, but can also be a "
        "network fault or a site that answers differently by country; look at several measurements.",
    ),
    "confirmed": (
        "Confirmed blocking",
        "The probe got a known blockpage or a DNS answer known to be used by censors in this country.",
    ),
    "failure": (
        "Measurement failed",
        "The test could not be completed (for example no control was reached), so it says nothing either way.",
    ),
    "not analysed": ("Not analysed", "censorwatch has no analysis for this kind of test yet."),
}

BLOCKING_WORDS: dict[str, tuple[str, str]] = {
    "dns": ("DNS tampering", "The network's resolver gave a different answer for the name than the control got."),
    "tcp_ip": (
        "Connection blocked",
        "Connections to the site's addresses failed from the probe's network but not from the control.",
    ),
    "tls": ("TLS interference", "The encrypted (TLS) handshake with the site was reset or failed only for the probe."),
    "http-failure": (
        "Web request failed",
        "The web request failed on the probe's network while it worked for the control.",
    ),
    "http-diff": (
        "Different web page",
        "The probe got a page that differs from the one the control got (status, size, title or headers), "
        "as a blockpage would.",
    ),
    "quic": (
        "QUIC blocked",
        "HTTP/3 over QUIC failed while HTTPS over TCP and TLS to the same server worked.",
    ),
    "throttling": (
        "Throttled",
        "The service was reachable but far slower than a control download measured in the same run.",
    ),
}


# The tests that have no control (messengers, circumvention tools, DNS over HTTPS/TLS, HTTP/3): the
# words above speak of a control, which would mislead on their pages.
WITHOUT_CONTROL_VERDICT: dict[str, str] = {
    "anomaly": "The test failed in the way censorship makes it fail. A network fault can look the same; look at "
               "several measurements.",
    "failure": "The test could not be completed (for example the probe's own network was down), so it says "
               "nothing either way.",
}
WITHOUT_CONTROL_BLOCKING: dict[str, str] = {
    "dns": "The service's name did not resolve, or resolved to addresses that are not the service's.",
    "tcp_ip": "Connections to the service's addresses failed from the probe's network.",
    "tls": "The encrypted (TLS) handshake with the service was reset or failed.",
    "http-failure": "The request to the service failed after the connection was made.",
}
CONTROLLED_TESTS = frozenset({None, "web_connectivity", "throttling"})


def verdict_label(verdict: str | None) -> str:
    return VERDICT_WORDS.get(verdict or "not analysed", (str(verdict), ""))[0]


def verdict_help(verdict: str | None, test_name: str | None = None) -> str:
    if test_name not in CONTROLLED_TESTS and verdict in WITHOUT_CONTROL_VERDICT:
        return WITHOUT_CONTROL_VERDICT[verdict]
    return VERDICT_WORDS.get(verdict or "not analysed", ("", ""))[1]


def blocking_label(blocking: str | None) -> str:
    if not blocking:
        return ""
    return BLOCKING_WORDS.get(blocking, (blocking, ""))[0]


def blocking_help(blocking: str | None, test_name: str | None = None) -> str:
    if not blocking:
        return ""
    if test_name not in CONTROLLED_TESTS and blocking in WITHOUT_CONTROL_BLOCKING:
        return WITHOUT_CONTROL_BLOCKING[blocking]
    return BLOCKING_WORDS.get(blocking, ("", ""))[1]
