"""http3 (our probe test, probe/experiments/http3.py): an HTTP/3 fetch over QUIC beside an
HTTP/1.1 fetch over TCP+TLS to the same host. Rules, in order (docs/verdicts-tests.md):

1. neither path left a trace (no summary keys, requests or handshakes): failure;
2. HTTP/3 answered: ok (the reason notes a failed TCP path, which web_connectivity judges);
3. HTTP/3 left no trace while TCP did: failure (nothing to compare);
4. HTTP/3 failed with a failure of the probe's own network (network_unreachable, ...): failure;
5. HTTP/3 failed, TCP+TLS+HTTP answered, and that answer's Alt-Svc did not offer h3: ok, since a
   server that never offered HTTP/3 says nothing by failing it;
6. HTTP/3 failed, TCP+TLS+HTTP answered (offering h3, or Alt-Svc unknown): anomaly, `quic`;
7. both failed: failure when the TCP path's failure is the probe's own network's, else anomaly
   at the layer of the TCP path's failure (dns, tcp_ip, tls, http-failure): without a control
   a site that is down looks the same, so never `confirmed`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from censorwatch.analysis.apps_common import blocking_of, claim, is_local, present, requests, test_keys
from censorwatch.analysis.shapes import items, mapping, text
from censorwatch.model.verdict import ANOMALY, FAILURE, OK, QUIC, Verdict

_SUMMARY = ("tcp_tls_failure", "http3_failure", "x_alt_svc_h3")


def _transport(request: Mapping[str, Any]) -> str | None:
    network = text(request.get("network")) or text(mapping(request.get("request")).get("x_transport"))
    return network.lower() if network else None


def _path(tk: Mapping[str, Any], network: str, failure_key: str, operation_key: str) -> tuple[bool, str | None,
                                                                                               str | None] | None:
    """(answered, failure, failed operation) of one transport; None when it left no trace."""
    answered = any(_transport(r) == network and mapping(r.get("response")) for r in requests(tk))
    failure = text(tk.get(failure_key))
    operation = text(tk.get(operation_key))
    if answered:
        return True, None, None
    if failure:
        return False, failure, operation
    attempted = [r for r in requests(tk) if _transport(r) == network]
    if network == "udp":
        attempted += [mapping(h) for h in items(tk.get("quic_handshakes"))]
    first = next((text(e.get("failure")) for e in attempted if text(e.get("failure"))), None)
    if first:
        return False, first, operation or ("quic_handshake" if network == "udp" else None)
    return None


def analyse(measurement: Mapping[str, Any]) -> Verdict:
    tk = test_keys(measurement)
    claimed = claim(present(tk, *_SUMMARY), None)
    http3 = _path(tk, "udp", "http3_failure", "http3_failed_operation")
    tcp = _path(tk, "tcp", "tcp_tls_failure", "tcp_tls_failed_operation")
    if http3 is None and tcp is None:
        return Verdict(FAILURE, None, "nothing was measured over QUIC or TCP", ooni_blocking=claimed)
    if http3 is not None and http3[0]:
        if tcp is not None and not tcp[0]:
            return Verdict(OK, None, f"HTTP/3 worked; the TCP+TLS fetch failed ({tcp[1]}): web_connectivity "
                           "judges that path", ooni_blocking=claimed)
        return Verdict(OK, None, "HTTP/3 over QUIC worked", ooni_blocking=claimed)
    if http3 is None:
        return Verdict(FAILURE, None, "HTTP/3 left no trace: nothing to compare", ooni_blocking=claimed)
    h3_failure, h3_operation = http3[1], http3[2]
    if h3_failure and is_local(h3_failure):
        return Verdict(FAILURE, None, f"the probe's network failed ({h3_failure})", ooni_blocking=claimed)
    if tcp is None:
        return Verdict(FAILURE, None, f"HTTP/3 failed ({h3_failure}) but the TCP path left no trace to compare",
                       ooni_blocking=claimed)
    if tcp[0]:
        if tk.get("x_alt_svc_h3") is False:
            return Verdict(OK, None, f"HTTP/3 failed ({h3_failure}) but the server does not offer HTTP/3 "
                           "(no h3 in Alt-Svc over TCP)", ooni_blocking=claimed)
        return Verdict(ANOMALY, QUIC, f"QUIC/HTTP/3 failed at {h3_operation or 'quic'} ({h3_failure}) while "
                       "TCP+TLS+HTTP to the same host worked", ooni_blocking=claimed)
    tcp_failure, tcp_operation = tcp[1] or "", tcp[2]
    if is_local(tcp_failure):
        return Verdict(FAILURE, None, f"the probe's network failed ({tcp_failure})", ooni_blocking=claimed)
    layer = blocking_of(tcp_failure, tcp_operation, https=True)
    return Verdict(ANOMALY, layer, f"both HTTP/3 ({h3_failure}) and TCP+TLS ({tcp_failure} at "
                   f"{tcp_operation or 'unknown step'}) failed; without a control this may also be a site "
                   "that is down", ooni_blocking=claimed)
