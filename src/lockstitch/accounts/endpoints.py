"""``POST /v3/accounts``: partners create accounts (no bearer token; partner id and secret)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from lockstitch.accounts import errors, schemas, service
from lockstitch.kit.http import context_of
from lockstitch.kit.json import BodyNotJSON, BodyTooLarge, JSONResponse, read_json

router = APIRouter(tags=["accounts"])


@router.post(
    "/v3/accounts",
    summary="Create an account (partners)",
    response_model=None,
    responses=schemas.CREATE_RESPONSES,
    openapi_extra=schemas.CREATE_REQUEST,
)
async def create_account(request: Request) -> JSONResponse:
    ctx = context_of(request)
    try:
        body = await read_json(request, ctx.settings.max_body_bytes)
    except (BodyNotJSON, BodyTooLarge):
        raise errors.invalid_form({}) from None
    async with ctx.db.unit_of_work() as session:
        created = await service.create_partner_account(session, ctx.settings, body)
    return JSONResponse({"access_token": created.access_token, "stitch_account_id": created.account.id})
