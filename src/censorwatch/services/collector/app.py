"""The collector's HTTP face: ooni/spec backends/bk-003-collector.md §3.1–3.3 on FastAPI.

Bodies are read by hand (not by FastAPI's model binding) so that the size limit holds while
reading and every refusal has the same {"error": reason} shape; the OpenAPI schema still
documents each body through `openapi_extra`.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from censorwatch.services.collector.engine import BACKEND_VERSION, SUPPORTED_FORMATS, Collector, CollectorConfig
from censorwatch.services.collector.validation import (
    ApiError,
    CloseResponse,
    ErrorResponse,
    OpenReportRequest,
    OpenReportResponse,
    SubmitRequest,
    SubmitResponse,
    check_report_id,
    parse_open_request,
    parse_submission,
)

log = logging.getLogger("censorwatch.collector")
# Bodies above this are parsed and scrubbed in a worker thread: a 10 MiB measurement takes tens of
# milliseconds of CPU, which would stall every other request on the event loop.
LARGE_BODY = 256 * 1024

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse} for status in (400, 401, 404, 409, 413, 415, 503)
}


def _body_schema(model: type[Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": model.model_json_schema()}}}}


def _error(status: int, reason: str, collector: Collector | None = None) -> JSONResponse:
    if collector is not None:
        collector.counters.rejected[status] += 1
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": reason}, status_code=status, headers=headers)


def _check_token(request: Request, token: str | None) -> None:
    if token is None:
        return
    given = request.headers.get("authorization", "")
    scheme, _, credential = given.partition(" ")
    # Constant-time comparison: the time taken must not reveal how much of a guess was right.
    if scheme.lower() != "bearer" or not hmac.compare_digest(credential.strip().encode(), token.encode()):
        raise ApiError(401, "missing or wrong bearer token")


def _check_headers(request: Request) -> None:
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        # bk-003 §1.0: a collector MUST answer 415 to a content-encoding it does not support.
        raise ApiError(415, f"unsupported content-encoding {encoding[:40]!r}")
    content_type = request.headers.get("content-type")
    if content_type is not None:
        media = content_type.split(";", 1)[0].strip().lower()
        if media != "application/json":
            raise ApiError(415, "content-type must be application/json")


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refusing it as soon as it is known to exceed `limit` (announced or counted)."""
    announced = request.headers.get("content-length")
    if announced is not None:
        if not announced.strip().isdigit():
            raise ApiError(400, "malformed content-length")
        if int(announced) > limit:
            raise ApiError(413, f"body larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"body larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _peers(request: Request) -> list[str | None]:
    """Every address the request says it came from, so that scrubbing covers a reverse proxy's
    forwarded headers too. Used for scrubbing only: never logged, never stored."""
    found: list[str | None] = [request.client.host if request.client else None]
    for header in ("x-forwarded-for", "x-real-ip"):
        found.extend(part.strip() for part in request.headers.get(header, "").split(",") if part.strip())
    return found


def create_app(config: CollectorConfig) -> FastAPI:
    collector = Collector(config)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await collector.start()
        try:
            yield
        finally:
            await collector.stop()

    app = FastAPI(
        title="censorwatch collector",
        version=BACKEND_VERSION,
        description="OONI collector API (ooni/spec backends/bk-003-collector.md): open a report, "
        "submit measurements to it, close it.",
        docs_url=None,  # the interactive docs load scripts from a CDN; the schema is at /openapi.json
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.collector = collector

    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> JSONResponse:
        return _error(error.status, error.reason, collector)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        return _error(error.status_code, str(error.detail), collector)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        return _error(400, "invalid request", collector)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, error: Exception) -> JSONResponse:
        # Logged without the request: it could carry the submitter's address in a header.
        log.error("internal error: %s", type(error).__name__)
        return _error(500, "internal error")

    @app.post(
        "/report",
        tags=["reports"],
        response_model=OpenReportResponse,
        responses=_ERRORS,
        openapi_extra=_body_schema(OpenReportRequest),
        summary="Open a report (bk-003 §3.1)",
    )
    async def open_report(request: Request) -> dict[str, Any]:
        _check_token(request, config.token)
        _check_headers(request)
        fields = parse_open_request(await _read_body(request, config.max_body))
        report_id = await collector.open_report(fields)
        return {"report_id": report_id, "backend_version": BACKEND_VERSION, "supported_formats": SUPPORTED_FORMATS}

    @app.post(
        "/report/{report_id}",
        tags=["reports"],
        response_model=SubmitResponse,
        responses=_ERRORS,
        openapi_extra=_body_schema(SubmitRequest),
        summary="Submit a measurement to a report (bk-003 §3.2)",
    )
    async def submit(report_id: str, request: Request) -> dict[str, Any]:
        _check_token(request, config.token)
        check_report_id(report_id)
        collector.report(report_id)  # 404 before reading a body meant for nobody
        _check_headers(request)
        body = await _read_body(request, config.max_body)
        large = len(body) > LARGE_BODY
        content = await asyncio.to_thread(parse_submission, body) if large else parse_submission(body)
        uid = await collector.submit(report_id, content, _peers(request), large=large)
        return {"measurement_uid": uid}

    @app.post(
        "/report/{report_id}/close",
        tags=["reports"],
        response_model=CloseResponse,
        responses=_ERRORS,
        summary="Close a report (bk-003 §3.3)",
    )
    async def close(report_id: str, request: Request) -> dict[str, Any]:
        _check_token(request, config.token)
        check_report_id(report_id)
        await _read_body(request, config.max_body)
        await collector.close_report(report_id)
        return {"status": "success"}

    @app.get("/health", tags=["service"], summary="Liveness and counters (read-only)")
    async def health() -> dict[str, Any]:
        return collector.health()

    return app
