"""``/v4/destinations`` and ``/v4/destination-types``: thin HTTP layer over ``destinations.service``.

Bodies are read raw, so malformed input is answered in Stitch's shape (a bare string) instead of
FastAPI's validation body; their schema in the OpenAPI document is ``schemas.DestinationIn``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request

from lockstitch.accounts.auth import Auth
from lockstitch.context import context_of, read_body, reading, writing
from lockstitch.destinations import errors, schemas, service
from lockstitch.kit.http import Handler, StitchRoutes
from lockstitch.kit.json import JSONResponse

router = APIRouter(tags=["destinations"])
route = StitchRoutes(router, schemas.error_responses)
DestinationId = Annotated[
    str, Path(description="Numeric destination id", json_schema_extra={"pattern": "^[0-9]+$"})
]
_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": schemas.DestinationIn.model_json_schema()}},
    }
}


def _write(method: str, path: str, summary: str) -> Callable[[Handler], Handler]:
    """A POST or PUT: it takes a ``DestinationIn`` body (read raw, so documented here), may find
    it too large, and answers the Destination."""
    return route(method, path, summary, schemas.DestinationOut, (400, 401, 404, 413), openapi_extra=_BODY)


async def _body(request: Request, invalid_message: str) -> Any:
    return await read_body(request, lambda: errors.invalid_body(invalid_message), errors.body_too_large)


@route(
    "GET", "/v4/destination-types", "List destination types", list[schemas.DestinationTypeCard], (401, 404)
)
async def list_destination_types(request: Request, who: Auth) -> JSONResponse:
    return JSONResponse(service.list_types(context_of(request), who))


@route(
    "GET",
    "/v4/destination-types/{destination_type}",
    "Get a destination type",
    schemas.DestinationTypeCard,
    (401, 404),
)
async def get_destination_type(request: Request, destination_type: str, who: Auth) -> JSONResponse:
    return JSONResponse(service.get_type(context_of(request), who, destination_type))


@route("GET", "/v4/destinations", "List destinations", list[schemas.DestinationOut], (400, 401, 404))
async def list_destinations(request: Request, who: Auth) -> JSONResponse:
    params = dict(request.query_params)
    return JSONResponse(await reading(request, lambda s, ctx: service.list_destinations(s, ctx, who, params)))


@_write("POST", "/v4/destinations", "Create a destination")
async def create_destination(request: Request, who: Auth) -> JSONResponse:
    body = await _body(request, errors.POST_BODY)
    return JSONResponse(await writing(request, lambda s, ctx: service.create_destination(s, ctx, who, body)))


@_write("PUT", "/v4/destinations/{destination_id}", "Update a destination")
async def update_destination(request: Request, destination_id: DestinationId, who: Auth) -> JSONResponse:
    body = await _body(request, errors.PUT_BODY)
    return JSONResponse(
        await writing(request, lambda s, ctx: service.update_destination(s, ctx, who, destination_id, body))
    )


@route(
    "DELETE",
    "/v4/destinations/{destination_id}",
    "Delete a destination",
    {"content": {"application/json": {"schema": {"type": "object"}}}},
    (400, 401, 404),
)
async def delete_destination(request: Request, destination_id: DestinationId, who: Auth) -> JSONResponse:
    return JSONResponse(
        await writing(request, lambda s, _: service.delete_destination(s, who, destination_id))
    )


@route(
    "GET",
    "/v4/destinations/{destination_id}/last-connection-check",
    "The destination's last connection check",
    schemas.ConnectionCheckOut,
    (400, 401, 404),
)
async def last_connection_check(request: Request, destination_id: DestinationId, who: Auth) -> JSONResponse:
    return JSONResponse(
        await reading(request, lambda s, _: service.last_connection_check(s, who, destination_id))
    )
