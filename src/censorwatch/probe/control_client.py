"""Asks the test helper (OONI web-connectivity th API) what an uncensored network sees."""

from __future__ import annotations

from typing import Any

import httpx

from censorwatch.model import failures
from censorwatch.probe.config import ProbeConfig

MAX_CONTROL_BYTES = 4 * 1024 * 1024


class ControlClient:
    """One HTTP client per run, shared by all URLs (connection reuse to the helper)."""

    def __init__(self, config: ProbeConfig) -> None:
        self.config = config
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(config.timeout * 4 + 5), trust_env=False)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def control(self, url: str, endpoints: list[str]) -> tuple[dict[str, Any], str | None]:
        """(control response, control_failure)."""
        if not self.config.test_helper:
            return {}, "no test helper configured (--test-helper)"
        request = {
            "http_request": url,
            "http_request_headers": {"User-Agent": [self.config.user_agent], "Accept-Language": ["en-US;q=0.8"]},
            "tcp_connect": endpoints,
        }
        try:
            response = await self._client.post(self.config.test_helper, json=request)
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
