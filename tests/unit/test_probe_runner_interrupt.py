"""Ctrl-C during a probe run ends it even when a library swallows the cancellation once (as a
connection close that suppressed CancelledError did): the run must not wait forever on a worker."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from censorwatch.probe import web_connectivity
from censorwatch.probe.config import ProbeConfig
from censorwatch.probe.experiment import ExperimentContext
from censorwatch.probe.runner import ProbeRunner, web_jobs


async def _swallowing_measure(url: str | None, context: ExperimentContext) -> dict[str, Any]:
    with contextlib.suppress(asyncio.CancelledError):  # lost here, as in the old close()
        await asyncio.sleep(30)
    await asyncio.sleep(30)  # and the measurement goes on, as against a server that hangs
    return {"input": url}


def test_interrupted_run_ends_although_a_cancel_was_swallowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(web_connectivity, "measure", _swallowing_measure)
    delivered: list[dict[str, Any]] = []

    async def scenario() -> tuple[bool, bool]:
        probe = ProbeRunner(ProbeConfig(timeout=10), concurrency=2, sinks=[delivered.append])
        run = asyncio.create_task(probe.run(web_jobs([f"http://site{i}.example/" for i in range(20)])))
        await asyncio.sleep(0.2)
        run.cancel()
        done, _ = await asyncio.wait([run], timeout=10)
        return run in done, probe.summary.interrupted

    ended, interrupted = asyncio.run(scenario())
    assert ended, "the interrupted run kept waiting on its workers"
    assert interrupted
    assert len(delivered) <= 2  # at most the measurements in flight when Ctrl-C came


def test_close_lets_our_own_cancellation_through() -> None:
    """endpoints.close waits for the transport to close, but never swallows a cancellation of the
    task that is closing (Ctrl-C while a connection to a hanging server is being closed)."""
    from censorwatch.probe.endpoints import close

    class HangingWriter:
        closed = False

        def close(self) -> None:
            self.closed = True

        async def wait_closed(self) -> None:
            await asyncio.sleep(30)

    async def scenario() -> bool:
        writer = HangingWriter()
        closing = asyncio.create_task(close(writer))  # type: ignore[arg-type]
        await asyncio.sleep(0.05)
        closing.cancel()
        await asyncio.wait([closing], timeout=5)
        return writer.closed and closing.cancelled()

    assert asyncio.run(scenario())
