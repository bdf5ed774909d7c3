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
from lockstitch.context import reading, writing
from lockstitch.kit.http import StitchRoutes
from lockstitch.kit.json import JSONResponse
from lockstitch.kit.time import utcnow
from lockstitch.replication import schemas, service
from lockstitch.replication.log_urls import LinkRejectedError

router = APIRouter(tags=["replication"])
route = StitchRoutes(router, schemas.error_responses)
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


@route(
    "POST",
    "/v4/sources/{source_id}/sync",
    "Start a replication job",
    {
        "model": schemas.JobNameOut | schemas.JobErrorBody,
        "description": "The new job's name, or (still 200) the already_running error",
    },
    (400, 401, 404),
)
async def start_sync(request: Request, source_id: SourceId, who: Auth) -> JSONResponse:
    return JSONResponse(
        await writing(request, lambda s, ctx: service.start_sync(s, ctx, who, source_id, utcnow()))
    )


@route("DELETE", "/v4/sources/{source_id}/sync", "Stop a replication job", schemas.StatusOut, (400, 401, 404))
async def stop_sync(request: Request, source_id: SourceId, who: Auth) -> JSONResponse:
    return JSONResponse(await writing(request, lambda s, _: service.stop_sync(s, who, source_id, utcnow())))


@route(
    "GET",
    "/v4/{stitch_client_id}/extractions",
    "List the last completed extraction of every source",
    schemas.ExtractionPage,
    (400, 401, 404),
)
async def list_extractions(
    request: Request, stitch_client_id: ClientId, who: Auth, page: PageNumber = None
) -> JSONResponse:
    return JSONResponse(
        await reading(
            request, lambda s, _: service.list_extractions(s, who, stitch_client_id, page, utcnow())
        )
    )


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
    location = await reading(
        request, lambda s, ctx: service.log_location(s, ctx, who, stitch_client_id, job_name, utcnow())
    )
    return RedirectResponse(location, status_code=302)


@route(
    "GET",
    "/v4/{stitch_client_id}/loads",
    "List the last load attempt of every stream",
    schemas.LoadPage,
    (400, 401, 404),
)
async def list_loads(
    request: Request, stitch_client_id: ClientId, who: Auth, page: PageNumber = None
) -> JSONResponse:
    return JSONResponse(
        await reading(request, lambda s, _: service.list_loads(s, who, stitch_client_id, page, utcnow()))
    )


@router.get("/logs/{job_name}", include_in_schema=False)
async def read_log(
    request: Request,
    job_name: str,
    expires: Annotated[str | None, Query()] = None,
    signature: Annotated[str | None, Query()] = None,
) -> PlainTextResponse:
    try:
        content = await reading(
            request, lambda s, ctx: service.read_log(s, ctx, job_name, expires, signature, utcnow())
        )
    except LinkRejectedError as exc:
        return PlainTextResponse(str(exc), status_code=403, headers=_LOG_HEADERS)
    if content is None:
        return PlainTextResponse("this log no longer exists", status_code=404, headers=_LOG_HEADERS)
    return PlainTextResponse(content, headers=_LOG_HEADERS)
