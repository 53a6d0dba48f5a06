"""Exceptions of sockets, TLS and DNS mapped to OONI failure strings (ooni/spec df-007-errors.md)."""

from __future__ import annotations

import asyncio
import errno
import ssl

import dns.exception
import dns.resolver

from censorwatch.model import failures

# X509 verify codes (OpenSSL x509_vfy.h) that mean "I do not trust whoever signed this".
_UNKNOWN_AUTHORITY_CODES = frozenset({18, 19, 20, 21, 2})
_HOSTNAME_MISMATCH = 62

_ERRNO_FAILURES = {
    errno.ECONNREFUSED: failures.CONNECTION_REFUSED,
    errno.ECONNRESET: failures.CONNECTION_RESET,
    errno.ECONNABORTED: failures.CONNECTION_ABORTED,
    errno.EHOSTUNREACH: failures.HOST_UNREACHABLE,
    errno.ENETUNREACH: failures.NETWORK_UNREACHABLE,
    errno.ETIMEDOUT: failures.GENERIC_TIMEOUT,
    errno.EPIPE: failures.CONNECTION_RESET,
}


def failure_of(error: BaseException) -> str:
    """The OONI failure string for a network error."""
    if isinstance(error, TimeoutError):
        return failures.GENERIC_TIMEOUT
    if isinstance(error, ssl.SSLCertVerificationError):
        if error.verify_code == _HOSTNAME_MISMATCH:
            return failures.SSL_INVALID_HOSTNAME
        if error.verify_code in _UNKNOWN_AUTHORITY_CODES:
            return failures.SSL_UNKNOWN_AUTHORITY
        return failures.SSL_INVALID_CERTIFICATE
    if isinstance(error, ssl.SSLEOFError | EOFError | asyncio.IncompleteReadError):
        return failures.EOF_ERROR
    if isinstance(error, ssl.SSLError):
        return failures.SSL_FAILED_HANDSHAKE
    if isinstance(error, OSError) and error.errno in _ERRNO_FAILURES:
        return _ERRNO_FAILURES[error.errno]
    if isinstance(error, ConnectionResetError):
        return failures.CONNECTION_RESET
    if isinstance(error, ConnectionAbortedError):
        return failures.CONNECTION_ABORTED
    return failures.unknown(type(error).__name__)


def dns_failure_of(error: BaseException) -> str | None:
    """The control's `dns.failure`: oohelperd keeps the legacy test helper's names (dns.go, dnsMapFailure):
    NXDOMAIN is "dns_name_error", a name without addresses is no failure at all, server trouble is
    "dns_server_failure" and anything else "unknown_error"."""
    if isinstance(error, dns.resolver.NXDOMAIN):
        return "dns_name_error"
    if isinstance(error, dns.resolver.NoAnswer):
        return None
    if isinstance(error, dns.resolver.NoNameservers | dns.resolver.YXDOMAIN):
        return "dns_server_failure"
    if isinstance(error, dns.exception.Timeout | TimeoutError):
        return "unknown_error"
    return "unknown_error"
