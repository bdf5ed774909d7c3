"""Operations endpoints: liveness, readiness, Prometheus metrics.

Counters are this process's (refreshes it finished...); gauges are read from the database at
scrape time, so every process reports the same picture of the fleet.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import REGISTRY, CollectorRegistry, Gauge, generate_latest

from lockstitch.kit.http import context_of
from lockstitch.kit.json import JSONResponse
from lockstitch.kit.time import utcnow
from lockstitch.migrations import is_current
from lockstitch.oauth.repository import CredentialRepository

router = APIRouter(tags=["operations"])
STATUSES = ("valid", "pending", "incomplete", "backing_off", "needs_reauth", "invalid_client")


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


@router.get("/metrics", summary="Prometheus metrics", response_model=None)
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
    for status in sorted(set(STATUSES) | set(counts)):
        by_status.labels(status=status).set(counts.get(status, 0))
    Gauge(
        "lockstitch_oauth_refresh_overdue_seconds",
        "How long the most overdue refreshable credential has been waiting (0: none overdue).",
        registry=fleet,
    ).set((now - oldest_due).total_seconds() if oldest_due else 0.0)
    body = generate_latest(REGISTRY) + generate_latest(fleet)
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")
