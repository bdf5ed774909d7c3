"""The FastAPI application: routers, the one error handler, lifespan (embedded worker).

Errors: services raise typed ``LockstitchError``s that carry their status and Stitch wire shape.
Framework errors (unknown path, method not allowed, FastAPI validation) and ``RouteError``s are
rendered in the error shape of the endpoint family the path belongs to (spec section 4); a
method not allowed answers 404, as Stitch documents. Anything unexpected is a 500 whose body
says nothing about the cause (it is logged, redacted).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from starlette.exceptions import HTTPException as StarletteHTTPException

from lockstitch import __version__
from lockstitch.accounts.auth import TokenCache
from lockstitch.accounts.endpoints import router as accounts_router
from lockstitch.catalog import openapi as catalog_openapi
from lockstitch.context import Context
from lockstitch.destinations.endpoints import router as destinations_router
from lockstitch.destinations.v3_endpoints import router as destinations_v3_router
from lockstitch.kit.errors import (
    AccountError,
    JobError,
    LockstitchError,
    PlainError,
    SourceError,
)
from lockstitch.kit.http import CollapseSlashes, RouteError
from lockstitch.kit.json import JSONResponse
from lockstitch.kit.logging import get_logger
from lockstitch.oauth import ownership
from lockstitch.oauth.endpoints import router as oauth_router
from lockstitch.operations import router as operations_router
from lockstitch.replication.endpoints import router as replication_router
from lockstitch.sources.endpoints import router as sources_router
from lockstitch.sources.type_endpoints import router as source_types_router
from lockstitch.streams.endpoints import router as streams_router
from lockstitch.worker.loop import Worker

log = get_logger("lockstitch.app")

_CODES = {400: "InvalidBody", 401: "Unauthorized", 404: "NotFound", 413: "InvalidBody"}
_PLAIN_FAMILY = re.compile(
    r"^/(v4/sources/[^/]+/streams|v4/destinations|v4/destination-types|v3/destinations)"
)
_JOB_FAMILY = re.compile(r"^/v4/sources/[^/]+/sync")
# Extractions and loads (``/v4/{client}/extractions...``, ``/v4/{client}/loads``) are the "jobs"
# resource type (spec 6): same error shape as the replication jobs. The first segment is a client
# id; the lookahead keeps the collections' own paths (``/v4/sources/loads``) in their families.
_CLIENT_JOB_FAMILY = re.compile(
    r"^/v4/(?!(?:sources|destinations|source-types|destination-types)/)[^/]+/(?:extractions|loads)(?:/|$)"
)


def family_error(path: str, status: int, message: str) -> LockstitchError:
    """The error for ``path`` in the shape its endpoint family uses."""
    if path.startswith("/v3/accounts"):
        return AccountError(_CODES.get(status, "BadRequest"), message, errors={}, status_code=status)
    if _JOB_FAMILY.match(path) or _CLIENT_JOB_FAMILY.match(path):
        return JobError(_CODES.get(status, "error").lower(), message, status_code=status)
    if _PLAIN_FAMILY.match(path):
        return PlainError(message, status_code=status)
    return SourceError(_CODES.get(status, "Error"), message, status_code=status)


def _render(error: LockstitchError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status_code, headers=error.headers)


async def _on_lockstitch_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LockstitchError)
    if isinstance(exc, RouteError):
        rendered = family_error(request.url.path, exc.status_code, exc.message)
        rendered.headers = exc.headers
        return _render(rendered)
    return _render(exc)


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code in (404, 405):
        message = "not found" if exc.status_code == 404 else f"method {request.method} is not allowed here"
        return _render(family_error(request.url.path, 404, message))
    return _render(family_error(request.url.path, exc.status_code, str(exc.detail)))


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    # FastAPI's own validation (path/query parameters); its default body would echo the input.
    return _render(family_error(request.url.path, 400, "invalid request parameters"))


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error", path=request.url.path, method=request.method, exc_info=exc)
    return JSONResponse(
        {"error": "InternalError", "data": {"message": "The API is experiencing problems. Try again later."}},
        status_code=500,
    )


def create_app(ctx: Context, *, embedded_worker: bool = False) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task = asyncio.create_task(Worker(ctx).run(stop)) if embedded_worker else None
        try:
            yield
        finally:
            stop.set()
            if task is not None:
                await task
            await ctx.close()

    app = FastAPI(
        title="Lockstitch",
        version=__version__,
        description="A self-hosted server for the Stitch Connect API v4.",
        lifespan=lifespan,
        default_response_class=JSONResponse,
        # FastAPI's built-in OpenTelemetry hooks look up providers on every request (a third of
        # the cost of a trivial request here); Lockstitch exposes Prometheus metrics instead.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        # Served by the operations router: local assets, and the operator's token when set.
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.ctx = ctx
    app.add_middleware(CollapseSlashes)
    app.state.token_cache = TokenCache()
    # The OAuth rule of a source's POST/PUT (sources.oauth_port: oauth sits above sources).
    app.state.credential_ownership = ownership
    app.add_exception_handler(LockstitchError, _on_lockstitch_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(Exception, _on_unexpected)
    app.include_router(accounts_router)
    app.include_router(source_types_router)
    app.include_router(sources_router)
    app.include_router(streams_router)
    app.include_router(destinations_router)
    app.include_router(destinations_v3_router)
    app.include_router(replication_router)
    app.include_router(oauth_router)
    app.include_router(operations_router)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = catalog_openapi.apply(
                get_openapi(
                    title=app.title, version=app.version, description=app.description, routes=app.routes
                ),
                ctx.catalog,
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    return app
