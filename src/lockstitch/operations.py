"""Operations endpoints: liveness, readiness, Prometheus metrics, the API reference.

Counters are this process's (refreshes it finished...); gauges are read from the database at
scrape time, so every process reports the same picture of the fleet.

``/docs`` is Swagger UI served from the ``swagger-ui-bundle`` package (no CDN: it works on an
offline host). When the operator sets ``operations_token``, ``/metrics``, ``/docs`` and
``/openapi.json`` want it, as ``Authorization: Bearer <token>`` (a Prometheus scraper) or as the
password of HTTP Basic (a browser asks for it); ``/healthz`` and ``/readyz`` stay open for
load balancers.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, Response
from prometheus_client import REGISTRY, CollectorRegistry, Gauge, generate_latest

from lockstitch.context import context_of
from lockstitch.kit.http import RouteError
from lockstitch.kit.json import JSONResponse
from lockstitch.kit.time import utcnow
from lockstitch.migrations import is_current
from lockstitch.oauth.repository import CredentialRepository
from lockstitch.oauth.states import STORED

router = APIRouter(tags=["operations"])
# The files /docs needs, by the names the page asks for (nothing else of the package is served).
DOCS_ASSETS = {
    "swagger-ui-bundle.js": "application/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}


def _presented_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2]
    return None


async def operations_access(request: Request) -> None:
    """Lets the request through when no operations token is set, or when it carries it."""
    token = context_of(request).settings.operations_token
    if token is None:
        return
    presented = _presented_token(request)
    if presented is None or not hmac.compare_digest(presented.encode(), token.get_secret_value().encode()):
        error = RouteError("this endpoint needs the operations token", status_code=401)
        error.headers = {"WWW-Authenticate": 'Basic realm="Lockstitch operations"'}
        raise error


@router.get("/openapi.json", include_in_schema=False, dependencies=[Depends(operations_access)])
async def openapi_document(request: Request) -> JSONResponse:
    return JSONResponse(request.app.openapi())


@router.get("/docs", include_in_schema=False, dependencies=[Depends(operations_access)])
async def docs() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="Lockstitch API",
        swagger_js_url="/docs/assets/swagger-ui-bundle.js",
        swagger_css_url="/docs/assets/swagger-ui.css",
        swagger_favicon_url="/docs/assets/favicon-32x32.png",
    )


@router.get("/docs/assets/{name}", include_in_schema=False, dependencies=[Depends(operations_access)])
async def docs_asset(name: str) -> FileResponse:
    if name not in DOCS_ASSETS:
        raise RouteError("not found", status_code=404)
    from swagger_ui_bundle import swagger_ui_path  # noqa: PLC0415 - only when the docs are read

    return FileResponse(Path(str(swagger_ui_path)) / name, media_type=DOCS_ASSETS[name])


@router.get("/healthz", summary="Liveness", response_model=None)
async def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@router.get("/readyz", summary="Readiness: database reachable and migrated", response_model=None)
async def readyz(request: Request) -> JSONResponse:
    try:
        ready = await is_current(context_of(request).db.engine)
    except Exception:  # noqa: BLE001 - any database failure means "not ready", never a 500
        ready = False
    return JSONResponse({"status": "ok" if ready else "unavailable"}, status_code=200 if ready else 503)


@router.get(
    "/metrics", summary="Prometheus metrics", response_model=None, dependencies=[Depends(operations_access)]
)
async def metrics(request: Request) -> Response:
    ctx = context_of(request)
    now = utcnow()
    async with ctx.db.read() as session:
        repo = CredentialRepository(session)
        counts = await repo.counts_by_status()
        oldest_due = await repo.oldest_overdue(now)
    fleet = CollectorRegistry()
    by_status = Gauge(
        "lockstitch_oauth_credentials", "OAuth credentials by status.", ["status"], registry=fleet
    )
    for status in sorted(set(STORED) | set(counts)):
        by_status.labels(status=status).set(counts.get(status, 0))
    Gauge(
        "lockstitch_oauth_refresh_overdue_seconds",
        "How long the most overdue refreshable credential has been waiting (0: none overdue).",
        registry=fleet,
    ).set((now - oldest_due).total_seconds() if oldest_due else 0.0)
    body = generate_latest(REGISTRY) + generate_latest(fleet)
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")
