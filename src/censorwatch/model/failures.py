"""OONI failure strings (ooni/spec data-formats/df-007-errors.md).

Probe code raises or records exactly these strings so that any OONI tool reading our
measurements understands them.
"""

from typing import Final

DNS_NXDOMAIN: Final = "dns_nxdomain_error"
DNS_NO_ANSWER: Final = "dns_no_answer"
DNS_REFUSED: Final = "dns_refused_error"
DNS_SERVER_MISBEHAVING: Final = "dns_server_misbehaving"
DNS_BOGON: Final = "dns_bogon_error"
CONNECTION_REFUSED: Final = "connection_refused"
CONNECTION_RESET: Final = "connection_reset"
CONNECTION_ABORTED: Final = "connection_aborted"
GENERIC_TIMEOUT: Final = "generic_timeout_error"
HOST_UNREACHABLE: Final = "host_unreachable"
NETWORK_UNREACHABLE: Final = "network_unreachable"
EOF_ERROR: Final = "eof_error"
SSL_INVALID_HOSTNAME: Final = "ssl_invalid_hostname"
SSL_UNKNOWN_AUTHORITY: Final = "ssl_unknown_authority"
SSL_INVALID_CERTIFICATE: Final = "ssl_invalid_certificate"
SSL_FAILED_HANDSHAKE: Final = "ssl_failed_handshake"
HTTP_REQUEST_FAILED: Final = "http_request_failed"
HTTP_UNEXPECTED_REDIRECT_URL: Final = "http_unexpected_redirect_url"
HTTP_TOO_MANY_REDIRECTS: Final = "http_too_many_redirects"
HTTP_INVALID_RESPONSE: Final = "http_invalid_response"

# Failures that say "the network path itself is broken here", as opposed to interference.
NETWORK_DOWN: Final = frozenset({NETWORK_UNREACHABLE, HOST_UNREACHABLE})


def unknown(detail: str) -> str:
    """OONI reports errors it cannot classify as `unknown_failure: <detail>`."""
    return f"unknown_failure: {detail}"
