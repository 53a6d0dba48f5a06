"""The web explorer's FastAPI app: JSON API, HTML pages and static files, with a strict CSP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from censorwatch import __version__
from censorwatch.web import api, archive_api
from censorwatch.web.archive_access import ArchiveAccess
from censorwatch.web.pages import archive, archive_doc, country, feeds, home, measurement, register, search, target
from censorwatch.web.store_access import StoreAccess

# No inline script or style at all, nothing from another origin: a measurement that slipped past
# escaping still could not run code or load anything.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def create_app(db: Path, idle_close: float = 2.0, private: bool = False) -> FastAPI:
    """`private`: serve the archive's private collections, unmasked (`censorwatch serve --private`)."""
    access = StoreAccess(db, idle_close=idle_close)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        access.close()

    # The bundled Swagger/ReDoc pages load their code from a CDN: off. The schema stays.
    app = FastAPI(title="censorwatch", version=__version__, openapi_url="/api/v1/openapi.json", docs_url=None,
                  redoc_url=None, lifespan=lifespan)
    app.state.access = access
    app.state.archive = ArchiveAccess(db, private=private)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    app.include_router(api.router)
    app.include_router(archive_api.router)
    for module in (home, country, target, measurement, search, register, feeds, archive, archive_doc):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=str(files("censorwatch.web") / "static")), name="static")
    return app
