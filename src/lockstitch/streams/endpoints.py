"""``/v4/sources/{source_id}/streams``: thin HTTP layer over ``streams.service``.

Errors on these paths use the plain-string family (``app.family_error``); the metadata PUT's rule
violations are ``{"invalid_fields": ...}``. The PUT body is read raw so that malformed JSON gets
Stitch's answer instead of FastAPI's.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request

from lockstitch.accounts.auth import Auth
from lockstitch.context import read_body, reading, writing
from lockstitch.kit.http import StitchRoutes
from lockstitch.kit.json import JSONResponse
from lockstitch.kit.time import utcnow
from lockstitch.streams import errors, schemas, service

router = APIRouter(tags=["streams"])
route = StitchRoutes(router, schemas.error_responses)
SourceId = Annotated[str, Path(description="Numeric source id", json_schema_extra={"pattern": "^[0-9]+$"})]
StreamId = Annotated[str, Path(description="Numeric stream id", json_schema_extra={"pattern": "^[0-9]+$"})]


async def _body(request: Request) -> Any:
    return await read_body(request, errors.bad_body, errors.body_too_large)


@route(
    "GET",
    "/v4/sources/{source_id}/streams",
    "List a source's streams",
    list[schemas.StreamOut],
    (400, 401, 404),
)
async def list_streams(request: Request, source_id: SourceId, who: Auth) -> JSONResponse:
    return JSONResponse(await reading(request, lambda s, _: service.list_streams(s, who, source_id)))


@route(
    "PUT",
    "/v4/sources/{source_id}/streams/metadata",
    "Select streams and fields",
    schemas.StatusOut,
    schemas.error_responses(400, 401, 404, 413, invalid_fields=True),
    openapi_extra=schemas.METADATA_PUT_BODY,
)
async def update_metadata(request: Request, source_id: SourceId, who: Auth) -> JSONResponse:
    body = await _body(request)
    return JSONResponse(
        await writing(request, lambda s, _: service.update_metadata(s, who, source_id, body, utcnow()))
    )


@route(
    "GET",
    "/v4/sources/{source_id}/streams/{stream_id}",
    "Retrieve a stream's schema and metadata",
    schemas.StreamSchemaOut,
    (400, 401, 404),
)
async def get_stream(request: Request, source_id: SourceId, stream_id: StreamId, who: Auth) -> JSONResponse:
    return JSONResponse(await reading(request, lambda s, _: service.get_stream(s, who, source_id, stream_id)))
