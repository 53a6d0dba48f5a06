"""Asks the test helper (OONI web-connectivity th API) what an uncensored network sees.

With several helpers (OONI's public ones by default) a failing helper makes the client try the
next, as probe-cli's httpapi does over its list of endpoints ("all endpoints failed" only when
every one did). The helper that last answered is asked first next time, so a dead helper costs
the run one failure, not one per URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from censorwatch.model import failures
from censorwatch.probe.config import ProbeConfig

MAX_CONTROL_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class ControlAnswer:
    response: dict[str, Any]
    failure: str | None
    helper: str | None  # the helper that answered (None when none did)


class ControlClient:
    """One HTTP client per run, shared by all URLs (connection reuse to the helper)."""

    def __init__(self, config: ProbeConfig) -> None:
        self.config = config
        self._helpers = list(config.controls)
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(config.timeout * 4 + 5), trust_env=False)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def control(self, url: str, endpoints: list[str]) -> ControlAnswer:
        if not self._helpers:
            return ControlAnswer({}, "no test helper configured (--test-helper)", None)
        request = {
            "http_request": url,
            "http_request_headers": {"User-Agent": [self.config.user_agent], "Accept-Language": ["en-US;q=0.8"]},
            "tcp_connect": endpoints,
        }
        failure: str | None = None
        for helper in list(self._helpers):
            response, failure = await self._ask(helper, request)
            if failure is None:
                self._prefer(helper)
                return ControlAnswer(response, None, helper)
        return ControlAnswer({}, failure, None)

    def _prefer(self, helper: str) -> None:
        if self._helpers[0] != helper and helper in self._helpers:
            self._helpers.remove(helper)
            self._helpers.insert(0, helper)

    async def _ask(self, helper: str, request: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        try:
            response = await self._client.post(helper, json=request)
        except httpx.TimeoutException:
            return {}, failures.GENERIC_TIMEOUT
        except httpx.HTTPError as error:
            return {}, failures.unknown(f"test helper unreachable: {type(error).__name__}")
        if response.status_code != 200:
            return {}, failures.unknown(f"test helper answered HTTP {response.status_code}")
        if len(response.content) > MAX_CONTROL_BYTES:
            return {}, failures.unknown("test helper answer too large")
        try:
            body = response.json()
        except ValueError:
            return {}, failures.unknown("test helper answer is not JSON")
        if not isinstance(body, dict):
            return {}, failures.unknown("test helper answer is not an object")
        return body, None
