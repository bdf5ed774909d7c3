"""``/v4/destinations`` and ``/v4/destination-types``: thin HTTP layer over ``destinations.service``.

Bodies are read raw, so malformed input is answered in Stitch's shape (a bare string) instead of
FastAPI's validation body; their schema in the OpenAPI document is ``schemas.DestinationIn``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request

from lockstitch.accounts.auth import Auth
from lockstitch.context import context_of, read_body
from lockstitch.destinations import errors, schemas, service
from lockstitch.kit.json import JSONResponse

router = APIRouter(tags=["destinations"])
DestinationId = Annotated[
    str, Path(description="Numeric destination id", json_schema_extra={"pattern": "^[0-9]+$"})
]
_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": schemas.DestinationIn.model_json_schema()}},
    }
}


async def _body(request: Request, invalid_message: str) -> Any:
    return await read_body(request, lambda: errors.invalid_body(invalid_message), errors.body_too_large)


@router.get(
    "/v4/destination-types",
    summary="List destination types",
    response_model=None,
    responses={200: {"model": list[schemas.DestinationTypeCard]}, **schemas.error_responses(401, 404)},
)
async def list_destination_types(request: Request, who: Auth) -> JSONResponse:
    return JSONResponse(service.list_types(context_of(request), who))


@router.get(
    "/v4/destination-types/{destination_type}",
    summary="Get a destination type",
    response_model=None,
    responses={200: {"model": schemas.DestinationTypeCard}, **schemas.error_responses(401, 404)},
)
async def get_destination_type(request: Request, destination_type: str, who: Auth) -> JSONResponse:
    return JSONResponse(service.get_type(context_of(request), who, destination_type))


@router.get(
    "/v4/destinations",
    summary="List destinations",
    response_model=None,
    responses={200: {"model": list[schemas.DestinationOut]}, **schemas.error_responses(400, 401, 404)},
)
async def list_destinations(request: Request, who: Auth) -> JSONResponse:
    ctx = context_of(request)
    params = dict(request.query_params)
    async with ctx.db.read() as session:
        return JSONResponse(await service.list_destinations(session, ctx, who, params))


@router.post(
    "/v4/destinations",
    summary="Create a destination",
    response_model=None,
    openapi_extra=_BODY,
    responses={200: {"model": schemas.DestinationOut}, **schemas.error_responses(400, 401, 404, 413)},
)
async def create_destination(request: Request, who: Auth) -> JSONResponse:
    ctx = context_of(request)
    body = await _body(request, errors.POST_BODY)
    async with ctx.db.unit_of_work() as session:
        created = await service.create_destination(session, ctx, who, body)
    return JSONResponse(created)


@router.put(
    "/v4/destinations/{destination_id}",
    summary="Update a destination",
    response_model=None,
    openapi_extra=_BODY,
    responses={200: {"model": schemas.DestinationOut}, **schemas.error_responses(400, 401, 404, 413)},
)
async def update_destination(request: Request, destination_id: DestinationId, who: Auth) -> JSONResponse:
    ctx = context_of(request)
    body = await _body(request, errors.PUT_BODY)
    async with ctx.db.unit_of_work() as session:
        updated = await service.update_destination(session, ctx, who, destination_id, body)
    return JSONResponse(updated)


@router.delete(
    "/v4/destinations/{destination_id}",
    summary="Delete a destination",
    response_model=None,
    responses={
        200: {"content": {"application/json": {"schema": {"type": "object"}}}},
        **schemas.error_responses(400, 401, 404),
    },
)
async def delete_destination(request: Request, destination_id: DestinationId, who: Auth) -> JSONResponse:
    ctx = context_of(request)
    async with ctx.db.unit_of_work() as session:
        deleted = await service.delete_destination(session, who, destination_id)
    return JSONResponse(deleted)


@router.get(
    "/v4/destinations/{destination_id}/last-connection-check",
    summary="The destination's last connection check",
    response_model=None,
    responses={200: {"model": schemas.ConnectionCheckOut}, **schemas.error_responses(400, 401, 404)},
)
async def last_connection_check(request: Request, destination_id: DestinationId, who: Auth) -> JSONResponse:
    ctx = context_of(request)
    async with ctx.db.read() as session:
        return JSONResponse(await service.last_connection_check(session, who, destination_id))
