"""One control measurement (oohelperd handler.go measure()): DNS, then every endpoint's TCP (+TLS) and the GET
concurrently, then ip_info."""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
from typing import Any

import dns.asyncresolver
import dns.exception
import dns.resolver

from censorwatch.model import failures
from censorwatch.services.test_helper.config import HelperConfig
from censorwatch.services.test_helper.dns_step import is_ip, lookup, make_resolver
from censorwatch.services.test_helper.http_fetch import FetchError, FetchSettings, HttpResult, fetch
from censorwatch.services.test_helper.request import ControlRequest, endpoint_text
from censorwatch.services.test_helper.tcp_tls import EndpointResult, probe_endpoint

# model.ControlIPInfoFlag* in probe-cli (internal/model/th.go).
FLAG_RESOLVED_BY_PROBE = 1
FLAG_RESOLVED_BY_TH = 2
FLAG_IS_BOGON = 4


def is_bogon(ip: str) -> bool:
    address = ipaddress.ip_address(ip)
    return not address.is_global


NOT_LOOPBACK = failures.unknown("address outside loopback refused by this helper")


def allowed(ip: str, config: HelperConfig) -> bool:
    return not config.loopback_only or ipaddress.ip_address(ip).is_loopback


async def _refused() -> EndpointResult:
    return EndpointResult(NOT_LOOPBACK, None, False)


def _split(endpoint: str) -> tuple[str, int]:
    host, _, port = endpoint.rpartition(":")
    return host.strip("[]"), int(port)


def ip_info(request: ControlRequest, th_addrs: list[str]) -> dict[str, dict[str, int]]:
    flags: dict[str, int] = {}
    for endpoint in request.endpoints:
        ip, _ = _split(endpoint)
        flags[ip] = flags.get(ip, 0) | FLAG_RESOLVED_BY_PROBE
    for ip in th_addrs:
        if is_ip(ip):
            flags[ip] = flags.get(ip, 0) | FLAG_RESOLVED_BY_TH
    # No AS database here: no external look-ups (asn 0 is OONI's "unknown").
    return {ip: {"asn": 0, "flags": value | (FLAG_IS_BOGON if is_bogon(ip) else 0)} for ip, value in flags.items()}


class _Resolver:
    """Resolves the GET's hosts (redirects included) with the helper's resolver; failures as OONI strings."""

    def __init__(self, resolver: dns.asyncresolver.Resolver, config: HelperConfig) -> None:
        self._resolver = resolver
        self._config = config

    async def __call__(self, host: str) -> list[str]:
        addrs = await self._resolve(host)
        if not all(allowed(ip, self._config) for ip in addrs):
            raise FetchError(NOT_LOOPBACK)
        return addrs

    async def _resolve(self, host: str) -> list[str]:
        if is_ip(host):
            return [host]
        try:
            answer = await self._resolver.resolve(host, "A", search=False)
        except dns.resolver.NXDOMAIN as error:
            raise FetchError(failures.DNS_NXDOMAIN) from error
        except dns.resolver.NoAnswer as error:
            raise FetchError(failures.DNS_NO_ANSWER) from error
        except dns.exception.Timeout as error:
            raise FetchError(failures.GENERIC_TIMEOUT) from error
        except dns.exception.DNSException as error:
            raise FetchError(failures.DNS_SERVER_MISBEHAVING) from error
        return [item.to_text() for item in answer]


async def _timed_fetch(url: str, resolve: _Resolver, settings: FetchSettings, timeout: float) -> HttpResult:
    try:
        async with asyncio.timeout(timeout):
            return await fetch(url, resolve, settings)
    except TimeoutError:
        return HttpResult(failure=failures.GENERIC_TIMEOUT)


async def measure(
    request: ControlRequest, config: HelperConfig, context: ssl.SSLContext | None = None
) -> dict[str, Any]:
    """The control response JSON (contracts.md: dns, tcp_connect, tls_handshake, http_request, ip_info)."""
    context = context if context is not None else config.ssl_context()
    resolver = make_resolver(config.resolver, config.dns_timeout)
    dns_result = await lookup(resolver, request.host)
    endpoints = list(request.endpoints)
    for ip in dns_result.addrs:
        text = endpoint_text(ip, request.port)
        if text not in endpoints:
            endpoints.append(text)
    server_name = request.host if request.scheme == "https" else None
    settings = FetchSettings(request.headers, context, config.connect_timeout, config.max_redirects, config.body_limit)
    endpoint_jobs = [
        probe_endpoint(*_split(e), server_name, context, config.connect_timeout, config.tls_timeout)
        if allowed(_split(e)[0], config)
        else _refused()
        for e in endpoints
    ]
    http_task = asyncio.ensure_future(
        _timed_fetch(request.url, _Resolver(resolver, config), settings, config.http_timeout)
    )
    endpoint_results: list[EndpointResult] = list(await asyncio.gather(*endpoint_jobs))
    http_result = await http_task
    response: dict[str, Any] = {
        "dns": dns_result.as_json(),
        "tcp_connect": {e: r.tcp_json() for e, r in zip(endpoints, endpoint_results, strict=True)},
        "http_request": http_result.as_json(),
        "ip_info": ip_info(request, dns_result.addrs),
    }
    # Present (empty) for http URLs too, as oohelperd's struct always serialises it.
    response["tls_handshake"] = {
        e: r.tls_json(server_name)
        for e, r in zip(endpoints, endpoint_results, strict=True)
        if server_name is not None and r.tcp_failure is None
    }
    return response
