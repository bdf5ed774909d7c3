"""Replication jobs, extractions, loads and logs: thin HTTP layer over ``replication.service``.

Errors on these paths use the jobs family ``{"error": {"type", "message"}}`` (``app.family_error``).
``/logs/{job_name}`` is no API endpoint but the target of a signed redirect: no bearer token (the
signature is the authority), plain-text answers, and not in the OpenAPI document.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import PlainTextResponse, RedirectResponse

from lockstitch.accounts.auth import Auth
from lockstitch.context import context_of
from lockstitch.kit.json import JSONResponse
from lockstitch.kit.time import utcnow
from lockstitch.replication import schemas, service
from lockstitch.replication.log_urls import LinkRejectedError

router = APIRouter(tags=["replication"])
SourceId = Annotated[str, Path(description="Numeric source id", json_schema_extra={"pattern": "^[0-9]+$"})]
ClientId = Annotated[
    str,
    Path(description="The token's Stitch client (account) id", json_schema_extra={"pattern": "^[0-9]+$"}),
]
PageNumber = Annotated[
    str | None, Query(description="1-based page number", json_schema_extra={"pattern": "^[0-9]+$"})
]
# Logs may hold anything a tap printed: never let a browser read them as anything but text.
_LOG_HEADERS = {
    "Cache-Control": "private, no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
}


@router.post(
    "/v4/sources/{source_id}/sync",
    summary="Start a replication job",
    response_model=None,
    responses={
        200: {
            "model": schemas.JobNameOut | schemas.JobErrorBody,
            "description": "The new job's name, or (still 200) the already_running error",
        },
        **schemas.error_responses(400, 401, 404),
    },
)
async def start_sync(request: Request, source_id: SourceId, who: Auth) -> JSONResponse:
    ctx = context_of(request)
    async with ctx.db.unit_of_work() as session:
        started = await service.start_sync(session, ctx, who, source_id, utcnow())
    return JSONResponse(started)


@router.delete(
    "/v4/sources/{source_id}/sync",
    summary="Stop a replication job",
    response_model=None,
    responses={200: {"model": schemas.StatusOut}, **schemas.error_responses(400, 401, 404)},
)
async def stop_sync(request: Request, source_id: SourceId, who: Auth) -> JSONResponse:
    ctx = context_of(request)
    async with ctx.db.unit_of_work() as session:
        stopped = await service.stop_sync(session, who, source_id, utcnow())
    return JSONResponse(stopped)


@router.get(
    "/v4/{stitch_client_id}/extractions",
    summary="List the last completed extraction of every source",
    response_model=None,
    responses={200: {"model": schemas.ExtractionPage}, **schemas.error_responses(400, 401, 404)},
)
async def list_extractions(
    request: Request, stitch_client_id: ClientId, who: Auth, page: PageNumber = None
) -> JSONResponse:
    async with context_of(request).db.read() as session:
        return JSONResponse(await service.list_extractions(session, who, stitch_client_id, page, utcnow()))


@router.get(
    "/v4/{stitch_client_id}/extractions/{job_name}",
    summary="Redirect to an extraction job's logs",
    response_model=None,
    status_code=302,
    responses={
        302: {
            "description": "Found: a short-lived signed URL for the logs, empty body",
            "headers": {"Location": {"schema": {"type": "string"}, "description": "The signed log URL"}},
        },
        **schemas.error_responses(401, 404),
    },
)
async def extraction_logs(
    request: Request, stitch_client_id: ClientId, job_name: str, who: Auth
) -> RedirectResponse:
    ctx = context_of(request)
    async with ctx.db.read() as session:
        location = await service.log_location(session, ctx, who, stitch_client_id, job_name, utcnow())
    return RedirectResponse(location, status_code=302)


@router.get(
    "/v4/{stitch_client_id}/loads",
    summary="List the last load attempt of every stream",
    response_model=None,
    responses={200: {"model": schemas.LoadPage}, **schemas.error_responses(400, 401, 404)},
)
async def list_loads(
    request: Request, stitch_client_id: ClientId, who: Auth, page: PageNumber = None
) -> JSONResponse:
    async with context_of(request).db.read() as session:
        return JSONResponse(await service.list_loads(session, who, stitch_client_id, page, utcnow()))


@router.get("/logs/{job_name}", include_in_schema=False)
async def read_log(
    request: Request,
    job_name: str,
    expires: Annotated[str | None, Query()] = None,
    signature: Annotated[str | None, Query()] = None,
) -> PlainTextResponse:
    ctx = context_of(request)
    try:
        async with ctx.db.read() as session:
            content = await service.read_log(session, ctx, job_name, expires, signature, utcnow())
    except LinkRejectedError as exc:
        return PlainTextResponse(str(exc), status_code=403, headers=_LOG_HEADERS)
    if content is None:
        return PlainTextResponse("this log no longer exists", status_code=404, headers=_LOG_HEADERS)
    return PlainTextResponse(content, headers=_LOG_HEADERS)
