"""``POST /v3/accounts``: partners create accounts (no bearer token; partner id and secret)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from lockstitch.accounts import errors, schemas, service
from lockstitch.context import read_body, writing
from lockstitch.kit.json import JSONResponse

router = APIRouter(tags=["accounts"])


@router.post(
    "/v3/accounts",
    summary="Create an account (partners)",
    response_model=None,
    responses=schemas.CREATE_RESPONSES,
    openapi_extra=schemas.CREATE_REQUEST,
)
async def create_account(request: Request) -> JSONResponse:
    body = await read_body(request, lambda: errors.invalid_form({}))
    created = await writing(request, lambda s, ctx: service.create_partner_account(s, ctx.settings, body))
    return JSONResponse({"access_token": created.access_token, "stitch_account_id": created.account.id})
