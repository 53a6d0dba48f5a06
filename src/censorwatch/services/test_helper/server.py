"""A small asyncio HTTP/1.1 server (h11) for the control API.

Embeddable: `TestHelperServer.start()` runs in whatever event loop calls it (the lab's), and
`BackgroundTestHelper` gives it a thread of its own (tests, the CLI). It never logs or keeps the client's address.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
from typing import Any

import h11
import orjson

from censorwatch.services.test_helper.config import HelperConfig
from censorwatch.services.test_helper.measure import measure
from censorwatch.services.test_helper.request import BadRequest, parse_request

MAX_HEAD = 16 * 1024


class _Reply(Exception):
    def __init__(self, status: int, payload: dict[str, Any], extra: list[tuple[str, str]] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.payload = payload
        self.extra = extra or []


class TestHelperServer:
    __test__ = False  # not a pytest class

    def __init__(self, config: HelperConfig) -> None:
        self.config = config
        self._context: ssl.SSLContext = config.ssl_context()
        self._server: asyncio.Server | None = None
        self._limit: asyncio.Semaphore | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self.address: tuple[str, int] = ("", 0)

    @property
    def url(self) -> str:
        host, port = self.address
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/"

    async def start(self, host: str, port: int) -> str:
        self._limit = asyncio.Semaphore(self.config.max_concurrent)
        self._server = await asyncio.start_server(self._accept, host, port, reuse_address=True, backlog=256)
        sockname = self._server.sockets[0].getsockname()
        self.address = (sockname[0], sockname[1])
        return self.url

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(self._connections) >= self.config.max_connections:
            writer.transport.abort()
            return
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)  # type: ignore[arg-type]
        try:
            sock = writer.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            await self._serve(reader, writer)
        except (OSError, TimeoutError, h11.ProtocolError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            # close() cancels connection handlers; asyncio's start_server callback would otherwise report each
            # cancelled handler as an error. The handler ends here and its transport is aborted below.
            pass
        finally:
            self._connections.discard(task)  # type: ignore[arg-type]
            writer.transport.abort()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
        while True:
            async with asyncio.timeout(self.config.client_timeout):
                request, body_or_reply = await self._read_request(conn, reader)
            if request is None:
                return
            if isinstance(body_or_reply, _Reply):
                status, payload, extra = body_or_reply.status, body_or_reply.payload, body_or_reply.extra
            else:
                status, payload, extra = await self._handle(request, body_or_reply)
            data = orjson.dumps(payload)
            headers = [("Content-Type", "application/json"), ("Content-Length", str(len(data))), *extra]
            if status >= 400:
                headers.append(("Connection", "close"))
            writer.write(conn.send(h11.Response(status_code=status, headers=headers)) or b"")
            writer.write(conn.send(h11.Data(data=data)) or b"")
            writer.write(conn.send(h11.EndOfMessage()) or b"")
            await writer.drain()
            if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                return
            conn.start_next_cycle()

    async def _next(self, conn: h11.Connection, reader: asyncio.StreamReader) -> Any:
        while True:
            event = conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            conn.receive_data(await reader.read(64 * 1024))

    async def _read_request(self, conn: h11.Connection, reader: asyncio.StreamReader) -> tuple[Any, Any]:
        try:
            event = await self._next(conn, reader)
        except h11.RemoteProtocolError:
            return None, None
        if not isinstance(event, h11.Request):
            return None, None
        limit = self.config.max_request_bytes
        declared = next((v for k, v in event.headers if k == b"content-length"), None)
        if declared is not None and int(declared) > limit:
            return event, _Reply(413, {"error": f"request body larger than {limit} bytes"})
        body = bytearray()
        while True:
            item = await self._next(conn, reader)
            if isinstance(item, h11.Data):
                body += item.data
                if len(body) > limit:
                    return event, _Reply(413, {"error": f"request body larger than {limit} bytes"})
            elif isinstance(item, h11.EndOfMessage):
                return event, bytes(body)
            else:
                return None, None

    async def _handle(self, request: h11.Request, body: bytes) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        if request.target.split(b"?")[0] != b"/":
            return 404, {"error": "not found; POST the control request to /"}, []
        if request.method != b"POST":
            return 405, {"error": "use POST with a JSON control request"}, [("Allow", "POST")]
        try:
            control_request = parse_request(body, self.config.max_endpoints)
        except BadRequest as error:
            return 400, {"error": str(error)}, []
        assert self._limit is not None
        async with self._limit:
            result = await measure(control_request, self.config, self._context)
        return 200, result, []


class BackgroundTestHelper:
    """The server on a daemon thread with its own event loop: `start()` returns the URL, `stop()` joins."""

    def __init__(self, config: HelperConfig, host: str = "127.0.0.1", port: int = 0) -> None:
        self.server = TestHelperServer(config)
        self._host, self._port = host, port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="test-helper", daemon=True)

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> str:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self.server.start(self._host, self._port), self._loop)
        return future.result(timeout=10)

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self.server.close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> BackgroundTestHelper:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
