"""``/v4/sources``: thin HTTP layer over ``sources.service``.

Bodies are read raw (to answer malformed input in Stitch's shapes); their request schemas in the
OpenAPI document are generated from the catalogue (``catalog.openapi``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import PlainTextResponse

from lockstitch.accounts.auth import Auth
from lockstitch.context import context_of, read_body, reading, writing
from lockstitch.jobs.check_views import ConnectionCheckOut
from lockstitch.kit.http import StitchRoutes
from lockstitch.kit.json import JSONResponse
from lockstitch.sources import errors, schemas, service
from lockstitch.sources.oauth_port import credential_ownership

router = APIRouter(tags=["sources"])
route = StitchRoutes(router, schemas.error_responses)
SourceId = Annotated[str, Path(description="Numeric source id", json_schema_extra={"pattern": "^[0-9]+$"})]


async def _body(request: Request, invalid_message: str) -> Any:
    return await read_body(request, lambda: errors.invalid_body(invalid_message), errors.body_too_large)


@route("GET", "/v4/sources", "List sources", list[schemas.SourceOut], (401, 404))
async def list_sources(request: Request, who: Auth) -> JSONResponse:
    return JSONResponse(await reading(request, lambda s, ctx: service.list_sources(s, ctx, who)))


@route("POST", "/v4/sources", "Create a source", schemas.SourceOut, (400, 401, 404, 413))
async def create_source(request: Request, who: Auth) -> JSONResponse:
    body = await _body(request, errors.POST_BODY)
    ownership = credential_ownership(request)
    return JSONResponse(
        await writing(request, lambda s, ctx: service.create_source(s, ctx, who, body, ownership=ownership))
    )


@route("GET", "/v4/sources/{source_id}", "Retrieve a source", schemas.SourceOut, (400, 401, 404))
async def get_source(request: Request, source_id: SourceId, who: Auth) -> JSONResponse:
    return JSONResponse(await service.get_source(context_of(request), who, source_id))


@route(
    "PUT",
    "/v4/sources/{source_id}",
    "Update, pause or unpause a source",
    schemas.SourceOut,
    (400, 401, 404, 413),
)
async def update_source(request: Request, source_id: SourceId, who: Auth) -> JSONResponse:
    body = await _body(request, errors.PUT_BODY)
    ownership = credential_ownership(request)
    return JSONResponse(
        await writing(
            request, lambda s, ctx: service.update_source(s, ctx, who, source_id, body, ownership=ownership)
        )
    )


@route("DELETE", "/v4/sources/{source_id}", "Delete a source", schemas.SourceOut, (400, 401, 404))
async def delete_source(request: Request, source_id: SourceId, who: Auth) -> JSONResponse:
    return JSONResponse(await writing(request, lambda s, ctx: service.delete_source(s, ctx, who, source_id)))


@route(
    "GET",
    "/v4/sources/{source_id}/last-connection-check",
    "The source's last connection check",
    ConnectionCheckOut,
    (400, 401, 404),
)
async def last_connection_check(request: Request, source_id: SourceId, who: Auth) -> JSONResponse:
    return JSONResponse(await reading(request, lambda s, _: service.last_connection_check(s, who, source_id)))


@router.get(
    "/v4/sources/{source_id}/last-connection-check/log",
    summary="The log of the source's last connection check (Lockstitch extension)",
    description="Plugin installation on first use, the tap's messages (secrets removed), the outcome.",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {}}}, **schemas.error_responses(400, 401, 404)},
)
async def last_connection_check_log(request: Request, source_id: SourceId, who: Auth) -> PlainTextResponse:
    text = await reading(request, lambda s, _: service.last_connection_check_log(s, who, source_id))
    return PlainTextResponse(text, headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})
