"""`extract` in worker processes, each with an address-space limit and a timeout per file, so
that a hostile file that makes a C library loop, allocate without end or crash costs one file,
not the batch.

Workers are long-lived `python -m censorwatch.archive.extract.worker` processes (spawned, never
forked: the parent may hold threads and DuckDB handles), each in its own session so that killing
it also kills the tesseract it started. A worker that times out or dies is killed and replaced
at its next file. Frames travel over pipes (wire.py); the parent waits with select() against
the file's deadline, so a worker that stops reading or writing cannot stall it."""

from __future__ import annotations

import contextlib
import os
import queue
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import IO, Any

from ..model import Extracted, ExtractionFailed
from . import wire
from .errors import Crashed, OutOfMemory, TimedOut

GiB = 1 << 30
DEFAULT_TARGET = "censorwatch.archive.extract:extract"
_MEMORY_MARKERS = (b"MemoryError", b"bad_alloc", b"out of memory", b"Out of memory", b"Cannot allocate memory")
_STDERR_TAIL = 8192

Item = tuple[bytes, str]


class IsolatedExtractor:
    """`with IsolatedExtractor(workers=4) as extractor: extractor.extract(data, name)`.

    `extract` raises ExtractionFailed like the in-process function, and its kinds TimedOut
    ("took longer than 60 s"), OutOfMemory ("ran out of memory") and Crashed ("the extractor
    crashed (signal 11)"). `target` ("module:function") replaces extract() in the workers: tests
    use it to inject hangs and crashes. Thread-safe: calls wait for a free worker."""

    def __init__(
        self,
        workers: int = 1,
        *,
        timeout: float = 60.0,
        memory: int = 1 * GiB,
        ocr: bool = True,
        target: str = DEFAULT_TARGET,
        startup_timeout: float = 60.0,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers = workers
        self.timeout = timeout
        self.memory = memory
        self.ocr = ocr
        command = [sys.executable, "-m", "censorwatch.archive.extract.worker", "--memory", str(memory),
                   "--target", target]
        # The parent's import path, as multiprocessing's spawn passes it: a target importable
        # here is importable there.
        environment = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p), "OMP_THREAD_LIMIT": "1"}
        self._slots = [_Worker(command, environment, startup_timeout, memory) for _ in range(workers)]
        self._idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        for slot in self._slots:
            self._idle.put(slot)

    def __enter__(self) -> IsolatedExtractor:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def start(self) -> None:
        """Start every worker now (else each starts at its first file)."""
        for slot in self._slots:
            slot.spawn()
        for slot in self._slots:
            slot.wait_ready()

    def close(self) -> None:
        for slot in self._slots:
            slot.stop()

    def extract(self, data: bytes, name: str, *, ocr: bool | None = None) -> Extracted:
        if len(data) > self.memory // 2:
            raise OutOfMemory(f"ran out of memory: {len(data) >> 20} MiB is more than half a worker's limit")
        slot = self._idle.get()
        try:
            return slot.run(data, name, self.ocr if ocr is None else ocr, self.timeout)
        finally:
            self._idle.put(slot)

    def map(
        self, items: Iterable[Item], *, ocr: bool | None = None
    ) -> Iterator[tuple[Item, Extracted | ExtractionFailed]]:
        """(item, result or failure) for each (data, name), in input order, `workers` at a time;
        at most twice as many items are held in memory as there are workers."""
        with ThreadPoolExecutor(self.workers, thread_name_prefix="extract") as pool:
            window: deque[tuple[Item, Future[Extracted | ExtractionFailed]]] = deque()
            for item in items:
                window.append((item, pool.submit(self._outcome, item, ocr)))
                if len(window) >= 2 * self.workers:
                    done, future = window.popleft()
                    yield done, future.result()
            while window:
                done, future = window.popleft()
                yield done, future.result()

    def _outcome(self, item: Item, ocr: bool | None) -> Extracted | ExtractionFailed:
        try:
            return self.extract(item[0], item[1], ocr=ocr)
        except ExtractionFailed as failed:
            return failed


class _Worker:
    """One worker process slot: spawned on demand, killed and forgotten when it misbehaves."""

    def __init__(self, command: list[str], environment: dict[str, str], startup_timeout: float, memory: int) -> None:
        self.command = command
        self.environment = environment
        self.startup_timeout = startup_timeout
        # No honest reply is bigger than the worker's whole address space.
        self.reply_limit = memory if memory > 0 else 4 * GiB
        self.process: subprocess.Popen[bytes] | None = None
        self.stderr: IO[bytes] | None = None
        self.ready = False

    def spawn(self) -> None:
        if self.process is not None and self.process.poll() is None:
            return
        self.kill()
        # Appended to (O_APPEND) so that truncating it between files works while the worker writes.
        self.stderr = tempfile.TemporaryFile(mode="a+b")  # noqa: SIM115 - lives as long as the worker
        self.process = subprocess.Popen(
            self.command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env=self.environment,
            start_new_session=True,
        )
        assert self.process.stdin is not None
        os.set_blocking(self.process.stdin.fileno(), False)
        self.ready = False

    def wait_ready(self) -> None:
        if self.ready:
            return
        assert self.process is not None and self.process.stdout is not None
        try:
            header, _ = _receive(self.process.stdout.fileno(), time.monotonic() + self.startup_timeout, 1 << 20)
        except (_Deadline, _Closed, wire.ProtocolError) as error:
            tail = self._stderr_tail().decode("utf-8", "replace").strip()
            self.kill()
            raise Crashed(f"the extractor did not start ({type(error).__name__.strip('_')}): {tail[-500:]}") from None
        if header.get("type") != "ready":
            self.kill()
            raise Crashed("the extractor did not start: unexpected first message")
        self.ready = True

    def run(self, data: bytes, name: str, ocr: bool, timeout: float) -> Extracted:
        self.spawn()
        self.wait_ready()
        process = self.process
        assert process is not None and process.stdin is not None and process.stdout is not None
        assert self.stderr is not None
        self.stderr.truncate(0)
        deadline = time.monotonic() + timeout
        try:
            _send(process.stdin.fileno(), wire.request(data, name, ocr), deadline)
            header, blob = _receive(process.stdout.fileno(), deadline, limit=self.reply_limit)
            result = wire.parse_reply(header, blob)
        except _Deadline:
            self.kill()
            raise TimedOut(f"took longer than {timeout:g} s") from None
        except (_Closed, OSError):
            raise self._death() from None
        except wire.ProtocolError as error:
            self.kill()
            raise Crashed(f"the extractor sent a malformed reply ({error})") from None
        if isinstance(result, OutOfMemory):
            self.kill()  # it exits by itself; this only reaps it
            raise result
        if isinstance(result, ExtractionFailed):
            raise result
        return result

    def stop(self) -> None:
        process = self.process
        if process is not None and process.poll() is None and process.stdin is not None:
            try:
                process.stdin.close()  # end of input: the worker exits
                process.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()

    def kill(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            # Until it is reaped its pid, hence its group id, cannot be reused: the group killed
            # is the worker's, with any tesseract it left behind.
            if process.returncode is None:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    process.kill()
            process.wait()
            for pipe in (process.stdin, process.stdout):
                if pipe is not None:
                    with contextlib.suppress(OSError):
                        pipe.close()
        self.ready = False

    def _death(self) -> ExtractionFailed:
        """Why the worker went away mid-file, as far as its exit and its last words tell."""
        process = self.process
        assert process is not None
        returncode = _exit_status(process.pid, timeout=5)
        tail = self._stderr_tail()
        self.kill()
        if any(marker in tail for marker in _MEMORY_MARKERS):
            return OutOfMemory("ran out of memory")
        if returncode is not None and returncode < 0:
            return Crashed(f"the extractor crashed (signal {-returncode})")
        return Crashed(f"the extractor exited with status {returncode}")

    def _stderr_tail(self) -> bytes:
        if self.stderr is None:
            return b""
        self.stderr.seek(0, os.SEEK_END)
        size = self.stderr.tell()
        self.stderr.seek(max(0, size - _STDERR_TAIL))
        return self.stderr.read()


def _exit_status(pid: int, timeout: float) -> int | None:
    """How the process ended (negative: the signal), without reaping it (WNOWAIT), so that its
    process group can still be killed safely; None if it has not ended within `timeout`."""
    end = time.monotonic() + timeout
    while True:
        try:
            status = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return None
        if status is not None:
            return status.si_status if status.si_code == os.CLD_EXITED else -status.si_status
        if time.monotonic() > end:
            return None
        time.sleep(0.01)


class _Deadline(Exception):
    pass


class _Closed(Exception):
    pass


def _wait(fd: int, deadline: float, *, write: bool) -> None:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _Deadline
    readable, writable, _ = select.select([] if write else [fd], [fd] if write else [], [], remaining)
    if not readable and not writable:
        raise _Deadline


def _send(fd: int, chunks: wire.Chunks, deadline: float) -> None:
    for chunk in chunks:
        view = memoryview(chunk)
        while view:
            _wait(fd, deadline, write=True)
            try:
                written = os.write(fd, view[: 1 << 20])
            except BlockingIOError:
                continue
            except BrokenPipeError:
                raise _Closed from None
            view = view[written:]


def _receive(fd: int, deadline: float, limit: int) -> tuple[dict[str, Any], memoryview]:
    prefix = _read(fd, wire.PREFIX.size, deadline)
    header_size, blob_size = wire.PREFIX.unpack(prefix)
    if header_size + blob_size > limit:
        raise wire.ProtocolError(f"a reply of {header_size + blob_size} bytes")
    header = wire.parse_header(_read(fd, header_size, deadline))
    return header, memoryview(_read(fd, blob_size, deadline))


def _read(fd: int, size: int, deadline: float) -> bytearray:
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        _wait(fd, deadline, write=False)
        count = os.readv(fd, [view[got:]])
        if count == 0:
            raise _Closed
        got += count
    return buffer
