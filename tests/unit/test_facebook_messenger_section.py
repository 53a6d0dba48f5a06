"""The facebook_messenger test's endpoints section: the shipped one is probe-cli's, and a bad one
names its key."""

from __future__ import annotations

from typing import Any

import pytest

from censorwatch.probe.endpoints_file import EndpointsError, load_endpoints
from censorwatch.probe.experiments import facebook_messenger

PROBE_CLI = {  # probe-cli internal/experiment/fbmessenger: ServiceSTUN .. ServiceStar
    "stun": ("stun.fbsbx.com", None),
    "b_api": ("b-api.facebook.com", 443),
    "b_graph": ("b-graph.facebook.com", 443),
    "edge": ("edge-mqtt.facebook.com", 443),
    "external_cdn": ("external.xx.fbcdn.net", 443),
    "scontent_cdn": ("scontent.xx.fbcdn.net", 443),
    "star": ("star.c10r.facebook.com", 443),
}


def shipped() -> dict[str, Any]:
    return dict(load_endpoints().section("facebook_messenger"))


def test_the_shipped_section_is_probe_clis() -> None:
    section = facebook_messenger.parse_section(shipped())
    assert section.asn == 32934 and section.networks == ()
    assert {s.name: (s.hostname, s.port) for s in section.services} == PROBE_CLI
    assert facebook_messenger.inputs(shipped()) == [None]


@pytest.mark.parametrize(("change", "key"), [
    ({"asn": "AS32934"}, "asn"),
    ({"networks": "157.240.0.0/16"}, "networks"),
    ({"networks": ["157.240.0.0/33"]}, "networks"),
    ({"services": {}}, "services"),
    ({"services": {"messenger": {"hostname": "m.facebook.com", "port": 443}}}, "services: messenger"),
    ({"services": {"edge": {"port": 443}}}, "services: edge"),
    ({"services": {"edge": {"hostname": "edge-mqtt.facebook.com", "port": 70000}}}, "services: edge"),
    ({"services": {"stun": {"hostname": "stun.fbsbx.com", "port": 3478}}}, "services: stun"),
])
def test_a_bad_section_fails_naming_the_key(change: dict[str, Any], key: str) -> None:
    with pytest.raises(EndpointsError, match=f"facebook_messenger: {key}"):
        facebook_messenger.inputs({**shipped(), **change})
