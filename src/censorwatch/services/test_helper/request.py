"""The control request: validation of what a probe sends (oohelperd ctrlRequest, ooni/spec ts-017 "control")."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson

# oohelperd forwards only these request headers to the site (internal/oohelperd/http.go).
FORWARDED_HEADERS = ("accept", "accept-language", "user-agent")


class BadRequest(ValueError):
    """The request cannot be served; the message goes back to the client in a 400 reply."""


@dataclass(frozen=True)
class ControlRequest:
    url: str
    scheme: str
    host: str  # without brackets for IPv6 literals
    port: int
    headers: dict[str, str]
    endpoints: tuple[str, ...]  # "ip:port" (or "[v6]:port") as the probe sent them, deduplicated


def _split_endpoint(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise BadRequest(f"tcp_connect entry {text!r} is not ip:port")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        ipaddress.ip_address(host)
    except ValueError as error:
        raise BadRequest(f"tcp_connect entry {text!r} is not ip:port") from error
    return host, int(port)


def endpoint_text(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _headers(raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise BadRequest("http_request_headers must be an object of name -> list of values")
    headers: dict[str, str] = {}
    for name, values in raw.items():
        if not isinstance(name, str):
            raise BadRequest("http_request_headers names must be strings")
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise BadRequest(f"http_request_headers[{name!r}] must be a list of strings")
        if name.lower() in FORWARDED_HEADERS and values:
            value = values[0]
            if "\r" in value or "\n" in value or len(value) > 1024:
                raise BadRequest(f"http_request_headers[{name!r}] has a bad value")
            headers[name] = value
    return headers


def parse_request(body: bytes, max_endpoints: int) -> ControlRequest:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise BadRequest(f"request body is not JSON: {error}") from error
    if not isinstance(data, dict):
        raise BadRequest("request body must be a JSON object")
    url = data.get("http_request")
    if not isinstance(url, str) or not url:
        raise BadRequest("http_request (the URL to measure) is required")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise BadRequest(f"http_request is not a valid URL: {error}") from error
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRequest("http_request must be an http:// or https:// URL with a host")
    raw_endpoints = data.get("tcp_connect", [])
    if raw_endpoints is None:
        raw_endpoints = []
    if not isinstance(raw_endpoints, list) or not all(isinstance(e, str) for e in raw_endpoints):
        raise BadRequest('tcp_connect must be a list of "ip:port" strings')
    if len(raw_endpoints) > max_endpoints:
        raise BadRequest(f"tcp_connect has {len(raw_endpoints)} entries; at most {max_endpoints} are accepted")
    endpoints = tuple(dict.fromkeys(endpoint_text(*_split_endpoint(e)) for e in raw_endpoints))
    return ControlRequest(
        url=url,
        scheme=parts.scheme,
        host=parts.hostname,
        port=port if port is not None else (443 if parts.scheme == "https" else 80),
        headers=_headers(data.get("http_request_headers")),
        endpoints=endpoints,
    )
