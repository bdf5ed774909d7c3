"""``/v3/destinations`` (GET, POST, PUT) for older clients: thin HTTP layer over ``v3_service``.

Bodies are read raw, so a malformed one is answered with Stitch's v3 string, not FastAPI's
validation body; their schema in the OpenAPI document is ``v3_schemas.DestinationV3In``. Errors,
404s and method-not-allowed are the destination family's plain strings (``app.family_error``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from lockstitch.accounts.auth import Auth
from lockstitch.context import read_body, reading, writing
from lockstitch.destinations import errors, schemas, v3_schemas, v3_service
from lockstitch.destinations.endpoints import DestinationId
from lockstitch.kit.http import StitchRoutes
from lockstitch.kit.json import JSONResponse

router = APIRouter(tags=["destinations (v3)"])
route = StitchRoutes(router, schemas.error_responses)
_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": v3_schemas.DestinationV3In.model_json_schema()}},
    },
}
_WRITE_ERRORS = (400, 401, 404, 413)


async def _body(request: Request) -> Any:
    return await read_body(request, lambda: errors.invalid_body(errors.V3_BODY), errors.body_too_large)


@route(
    "GET",
    "/v3/destinations",
    "List destinations (v3)",
    list[v3_schemas.DestinationV3Out],
    (401, 404),
    description=v3_schemas.NO_SECRETS,
)
async def list_destinations_v3(request: Request, who: Auth) -> JSONResponse:
    return JSONResponse(await reading(request, lambda s, ctx: v3_service.list_destinations(s, ctx, who)))


@route(
    "POST",
    "/v3/destinations",
    "Create a destination (v3)",
    v3_schemas.DestinationV3Out,
    _WRITE_ERRORS,
    openapi_extra=_BODY,
    description=v3_schemas.NO_SECRETS,
)
async def create_destination_v3(request: Request, who: Auth) -> JSONResponse:
    body = await _body(request)
    return JSONResponse(
        await writing(request, lambda s, ctx: v3_service.create_destination(s, ctx, who, body))
    )


@route(
    "PUT",
    "/v3/destinations/{destination_id}",
    "Update a destination (v3)",
    v3_schemas.DestinationV3Out,
    _WRITE_ERRORS,
    openapi_extra=_BODY,
    description=v3_schemas.NO_SECRETS,
)
async def update_destination_v3(request: Request, destination_id: DestinationId, who: Auth) -> JSONResponse:
    body = await _body(request)
    return JSONResponse(
        await writing(
            request, lambda s, ctx: v3_service.update_destination(s, ctx, who, destination_id, body)
        )
    )
