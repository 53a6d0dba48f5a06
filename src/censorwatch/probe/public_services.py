"""The public services a probe uses when the user names none: OONI's Web Connectivity test
helpers, public STUN servers and OONI's collector. One place, so a list that moves is changed
once; each can be replaced by an environment variable, which is how the tests keep every run on
loopback.
"""

from __future__ import annotations

import os
from typing import Final

# ooni/probe-cli internal/enginenetx, `testHelpersDomains`: the helpers OONI Probe is given by
# its probe services, tried in this order, the next one when a helper fails.
OONI_TEST_HELPERS: Final = (
    "https://0.th.ooni.org",
    "https://1.th.ooni.org",
    "https://2.th.ooni.org",
    "https://3.th.ooni.org",
    "https://d33d1gs9kpq1c5.cloudfront.net",
)
TEST_HELPERS_ENV: Final = "CENSORWATCH_TEST_HELPERS"

# ooni/probe-cli's geolocate package (stun.go): STUNGoogleIPLookup and STUNEkigaIPLookup, the
# two STUN servers OONI Probe asks for its public address.
STUN_SERVERS: Final = ("stun.l.google.com:19302", "stun.ekiga.net:3478")
STUN_SERVERS_ENV: Final = "CENSORWATCH_STUN_SERVERS"

# OONI's probe services: the collector API (bk-003) is served at the API's root.
OONI_COLLECTOR: Final = "https://api.ooni.io"
OONI_COLLECTOR_ENV: Final = "CENSORWATCH_OONI_COLLECTOR"


def _listed(env: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """A comma-separated override from the environment, else the default list."""
    value = os.environ.get(env, "")
    items = tuple(item.strip() for item in value.split(",") if item.strip())
    return items or default


def default_test_helpers() -> tuple[str, ...]:
    return _listed(TEST_HELPERS_ENV, OONI_TEST_HELPERS)


def default_stun_servers() -> tuple[str, ...]:
    return _listed(STUN_SERVERS_ENV, STUN_SERVERS)


def ooni_collector() -> str:
    return os.environ.get(OONI_COLLECTOR_ENV, "").strip() or OONI_COLLECTOR
