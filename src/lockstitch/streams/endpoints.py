"""``/v4/sources/{source_id}/streams``: thin HTTP layer over ``streams.service``.

Errors on these paths use the plain-string family (``app.family_error``); the metadata PUT's rule
violations are ``{"invalid_fields": ...}``. The PUT body is read raw so that malformed JSON gets
Stitch's answer instead of FastAPI's.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request

from lockstitch.accounts.auth import Auth
from lockstitch.context import context_of, read_body
from lockstitch.kit.json import JSONResponse
from lockstitch.kit.time import utcnow
from lockstitch.streams import errors, schemas, service

router = APIRouter(tags=["streams"])
SourceId = Annotated[str, Path(description="Numeric source id", json_schema_extra={"pattern": "^[0-9]+$"})]
StreamId = Annotated[str, Path(description="Numeric stream id", json_schema_extra={"pattern": "^[0-9]+$"})]


async def _body(request: Request) -> Any:
    return await read_body(request, errors.bad_body, errors.body_too_large)


@router.get(
    "/v4/sources/{source_id}/streams",
    summary="List a source's streams",
    response_model=None,
    responses={200: {"model": list[schemas.StreamOut]}, **schemas.error_responses(400, 401, 404)},
)
async def list_streams(request: Request, source_id: SourceId, who: Auth) -> JSONResponse:
    async with context_of(request).db.read() as session:
        return JSONResponse(await service.list_streams(session, who, source_id))


@router.put(
    "/v4/sources/{source_id}/streams/metadata",
    summary="Select streams and fields",
    response_model=None,
    responses={
        200: {"model": schemas.StatusOut},
        **schemas.error_responses(400, 401, 404, 413, invalid_fields=True),
    },
    openapi_extra=schemas.METADATA_PUT_BODY,
)
async def update_metadata(request: Request, source_id: SourceId, who: Auth) -> JSONResponse:
    ctx = context_of(request)
    body = await _body(request)
    async with ctx.db.unit_of_work() as session:
        result = await service.update_metadata(session, who, source_id, body, utcnow())
    return JSONResponse(result)


@router.get(
    "/v4/sources/{source_id}/streams/{stream_id}",
    summary="Retrieve a stream's schema and metadata",
    response_model=None,
    responses={200: {"model": schemas.StreamSchemaOut}, **schemas.error_responses(400, 401, 404)},
)
async def get_stream(request: Request, source_id: SourceId, stream_id: StreamId, who: Auth) -> JSONResponse:
    async with context_of(request).db.read() as session:
        return JSONResponse(await service.get_stream(session, who, source_id, stream_id))
