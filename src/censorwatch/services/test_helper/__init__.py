"""The web-connectivity control service (OONI test-helper API shape, ooni/spec ts-017 and probe-cli oohelperd).

Public names: `HelperConfig`, `measure` (one control measurement), `TestHelperServer` (asyncio HTTP server that
can be embedded in another event loop) and `BackgroundTestHelper` (the same, on its own thread).
"""

from censorwatch.services.test_helper.config import HelperConfig
from censorwatch.services.test_helper.measure import measure
from censorwatch.services.test_helper.request import BadRequest, ControlRequest, parse_request
from censorwatch.services.test_helper.server import BackgroundTestHelper, TestHelperServer

__all__ = [
    "BackgroundTestHelper",
    "BadRequest",
    "ControlRequest",
    "HelperConfig",
    "TestHelperServer",
    "measure",
    "parse_request",
]
