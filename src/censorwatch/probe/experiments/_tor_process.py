"""Child processes of the Tor tests (tor, obfs4proxy): started in a session of their own so that a
stop also reaches what they spawned (tor starts its pluggable transports), and always stopped:
`running()` kills on every way out of its block, a cancelled run included."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

GRACE = 2.0  # seconds a child gets to exit on SIGTERM before SIGKILL


class ProcessError(RuntimeError):
    """The binary could not be started (missing, not executable)."""


async def spawn(argv: list[str], env: Mapping[str, str] | None = None,
                cwd: Path | None = None) -> asyncio.subprocess.Process:
    try:
        return await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,  # pluggable transports exit when it closes (TOR_PT_EXIT_ON_STDIN_CLOSE)
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=None if env is None else dict(env),
            cwd=None if cwd is None else str(cwd),
            start_new_session=True,
        )
    except OSError as error:
        raise ProcessError(f"cannot start {argv[0]}: {error.strerror or error}") from error


def _signal_group(process: asyncio.subprocess.Process, signum: int) -> None:
    # The child leads its own session, so its pid is its process group's id.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signum)


async def stop(process: asyncio.subprocess.Process, grace: float = GRACE) -> None:
    """SIGTERM, then SIGKILL after `grace` seconds; returns once the child is reaped. When the caller
    is cancelled meanwhile the child is killed at once and the cancellation goes on."""
    if process.stdin is not None:
        with contextlib.suppress(OSError, RuntimeError):
            process.stdin.close()
    if process.returncode is not None:
        _signal_group(process, signal.SIGKILL)  # the leader is gone; a straggler of its group may not be
        return
    _signal_group(process, signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), grace)
    except TimeoutError:
        _signal_group(process, signal.SIGKILL)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), grace)
    except BaseException:
        _signal_group(process, signal.SIGKILL)
        raise
    else:
        _signal_group(process, signal.SIGKILL)


@contextlib.asynccontextmanager
async def running(argv: list[str], env: Mapping[str, str] | None = None,
                  cwd: Path | None = None) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await spawn(argv, env, cwd)
    try:
        yield process
    finally:
        await stop(process)


async def read_line(process: asyncio.subprocess.Process, timeout: float) -> str | None:
    """The child's next output line, None at end of output; TimeoutError past `timeout`."""
    assert process.stdout is not None
    try:
        raw = await asyncio.wait_for(process.stdout.readline(), timeout)
    except ValueError:
        return ""  # a line over the stream's limit: dropped (asyncio discards it), not the end of output
    if not raw:
        return None
    return raw.decode("utf-8", "replace").rstrip("\r\n")
