"""TLS trust for the signal test: the public roots plus Signal's own CA, as OONI's probe-cli builds
its pool for this test (ooni/spec nettests/ts-029-signal.md). Signal's servers present certificates
from Signal's private root, which no public store holds, so the user's --ca-file is not what
decides here: the endpoints section's CA does (and a lab gives its own there)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, fields

import certifi

from censorwatch.probe.config import ProbeConfig


def pinned_context(ca_pems: tuple[str, ...]) -> ssl.SSLContext:
    """certifi's roots plus `ca_pems`; ssl.SSLError when a PEM is not a certificate."""
    context = ssl.create_default_context(cafile=certifi.where())
    for pem in ca_pems:
        context.load_verify_locations(cadata=pem)
    return context


@dataclass(frozen=True)
class PinnedConfig(ProbeConfig):
    """The run's configuration with the TLS trust replaced, so the shared connect/TLS/HTTP steps
    (probe/endpoints.py, probe/http_fetch.py) verify against Signal's CA."""

    pinned: ssl.SSLContext | None = None

    @property
    def tls_context(self) -> ssl.SSLContext:
        assert self.pinned is not None
        return self.pinned


def with_pinned(config: ProbeConfig, context: ssl.SSLContext) -> PinnedConfig:
    values = {spec.name: getattr(config, spec.name) for spec in fields(ProbeConfig)}
    return PinnedConfig(**values, pinned=context)
