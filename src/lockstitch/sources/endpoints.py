"""``/v4/sources``: thin HTTP layer over ``sources.service``.

Bodies are read raw (to answer malformed input in Stitch's shapes); their request schemas in the
OpenAPI document are generated from the catalogue (``catalog.openapi``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import PlainTextResponse

from lockstitch.accounts.auth import Auth
from lockstitch.context import context_of, read_body
from lockstitch.jobs.check_views import ConnectionCheckOut
from lockstitch.kit.json import JSONResponse
from lockstitch.sources import errors, schemas, service
from lockstitch.sources.oauth_port import credential_ownership

router = APIRouter(tags=["sources"])
SourceId = Annotated[str, Path(description="Numeric source id", json_schema_extra={"pattern": "^[0-9]+$"})]


async def _body(request: Request, invalid_message: str) -> Any:
    return await read_body(request, lambda: errors.invalid_body(invalid_message), errors.body_too_large)


@router.get(
    "/v4/sources",
    summary="List sources",
    response_model=None,
    responses={200: {"model": list[schemas.SourceOut]}, **schemas.error_responses(401, 404)},
)
async def list_sources(request: Request, who: Auth) -> JSONResponse:
    ctx = context_of(request)
    async with ctx.db.read() as session:
        return JSONResponse(await service.list_sources(session, ctx, who))


@router.post(
    "/v4/sources",
    summary="Create a source",
    response_model=None,
    responses={200: {"model": schemas.SourceOut}, **schemas.error_responses(400, 401, 404, 413)},
)
async def create_source(request: Request, who: Auth) -> JSONResponse:
    ctx = context_of(request)
    body = await _body(request, errors.POST_BODY)
    async with ctx.db.unit_of_work() as session:
        created = await service.create_source(
            session, ctx, who, body, ownership=credential_ownership(request)
        )
    return JSONResponse(created)


@router.get(
    "/v4/sources/{source_id}",
    summary="Retrieve a source",
    response_model=None,
    responses={200: {"model": schemas.SourceOut}, **schemas.error_responses(400, 401, 404)},
)
async def get_source(request: Request, source_id: SourceId, who: Auth) -> JSONResponse:
    return JSONResponse(await service.get_source(context_of(request), who, source_id))


@router.put(
    "/v4/sources/{source_id}",
    summary="Update, pause or unpause a source",
    response_model=None,
    responses={200: {"model": schemas.SourceOut}, **schemas.error_responses(400, 401, 404, 413)},
)
async def update_source(request: Request, source_id: SourceId, who: Auth) -> JSONResponse:
    ctx = context_of(request)
    body = await _body(request, errors.PUT_BODY)
    async with ctx.db.unit_of_work() as session:
        updated = await service.update_source(
            session, ctx, who, source_id, body, ownership=credential_ownership(request)
        )
    return JSONResponse(updated)


@router.delete(
    "/v4/sources/{source_id}",
    summary="Delete a source",
    response_model=None,
    responses={200: {"model": schemas.SourceOut}, **schemas.error_responses(400, 401, 404)},
)
async def delete_source(request: Request, source_id: SourceId, who: Auth) -> JSONResponse:
    ctx = context_of(request)
    async with ctx.db.unit_of_work() as session:
        deleted = await service.delete_source(session, ctx, who, source_id)
    return JSONResponse(deleted)


@router.get(
    "/v4/sources/{source_id}/last-connection-check",
    summary="The source's last connection check",
    response_model=None,
    responses={200: {"model": ConnectionCheckOut}, **schemas.error_responses(400, 401, 404)},
)
async def last_connection_check(request: Request, source_id: SourceId, who: Auth) -> JSONResponse:
    ctx = context_of(request)
    async with ctx.db.read() as session:
        return JSONResponse(await service.last_connection_check(session, who, source_id))


@router.get(
    "/v4/sources/{source_id}/last-connection-check/log",
    summary="The log of the source's last connection check (Lockstitch extension)",
    description="Plugin installation on first use, the tap's messages (secrets removed), the outcome.",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {}}}, **schemas.error_responses(400, 401, 404)},
)
async def last_connection_check_log(request: Request, source_id: SourceId, who: Auth) -> PlainTextResponse:
    ctx = context_of(request)
    async with ctx.db.read() as session:
        text = await service.last_connection_check_log(session, who, source_id)
    return PlainTextResponse(text, headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})
