"""The signal test's endpoints section: the shipped one is Signal's, and a bad one names its key."""

from __future__ import annotations

import hashlib
import ssl
from typing import Any

import pytest

from censorwatch.probe.endpoints_file import EndpointsError, load_endpoints
from censorwatch.probe.experiments import signal

# SHA-256 of Signal's "Signal Messenger" root (2022-01-26 .. 2032-01-24), as ooni/spec ts-029 prints it.
SIGNAL_ROOT_SHA256 = "ddb0f92bb95c8d6fd202ea6e8cc5ccd182b544f8cd696f47d580659ddc9df65a"


def shipped() -> dict[str, Any]:
    return dict(load_endpoints().section("signal"))


def test_the_shipped_section_is_probe_clis() -> None:
    section = signal.parse_section(shipped())
    assert section.endpoints == ("https://cdsi.signal.org/", "https://chat.signal.org/",
                                 "https://sfu.voip.signal.org/", "https://storage.signal.org/")
    assert section.dns_lookups == ("uptime.signal.org",)
    der = ssl.PEM_cert_to_DER_cert(section.ca_pems[0])
    assert hashlib.sha256(der).hexdigest() == SIGNAL_ROOT_SHA256
    assert signal.inputs(shipped()) == [None]


@pytest.mark.parametrize(("change", "key"), [
    ({"endpoints": []}, "endpoints"),
    ({"endpoints": ["http://chat.signal.org/"]}, "endpoints"),
    ({"dns_lookups": "uptime.signal.org"}, "dns_lookups"),
    ({"ca_pem": None}, "ca_pem"),
    ({"ca_pem": "not a certificate"}, "ca_pem"),
    ({"ca_pem": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}, "ca_pem"),
])
def test_a_bad_section_fails_naming_the_key(change: dict[str, Any], key: str) -> None:
    with pytest.raises(EndpointsError, match=f"signal: {key}"):
        signal.inputs({**shipped(), **change})
