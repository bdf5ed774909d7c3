"""OAuth extension endpoints (ARCHITECTURE.md section 6): managed handshake, credential health,
token vending, and the account's registered return origins. HTTP shapes only: the rules are
``service``'s (and ``handshake``'s)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lockstitch.accounts.auth import Auth
from lockstitch.context import context_of, read_body
from lockstitch.kit.json import JSONResponse
from lockstitch.kit.openapi import json_body
from lockstitch.kit.time import to_wire
from lockstitch.oauth import errors, handshake, schemas, service
from lockstitch.sources import schemas as source_schemas

router = APIRouter(tags=["oauth (Lockstitch extension)"])
_NO_REFERRER = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


async def _body(request: Request) -> Any:
    # Too large or not JSON, OAuth's answer is the same InvalidBody (400).
    return await read_body(request, lambda: errors.invalid_body("the body must be a JSON object"))


@router.post(
    "/v4/sources/{source_id}/oauth/authorize",
    summary="Start a managed OAuth handshake",
    response_model=None,
    responses={200: {"model": schemas.AuthorizeResponse}, **source_schemas.error_responses(400, 401, 404)},
    openapi_extra=json_body(schemas.AuthorizeRequest),
)
async def authorize(request: Request, source_id: str, who: Auth) -> JSONResponse:
    ctx = context_of(request)
    body = await _body(request)
    async with ctx.db.unit_of_work() as session:
        started = await handshake.start(session, ctx, who, source_id, body)
    return JSONResponse(started)


@router.get("/oauth/callback", summary="Where providers send the browser back", response_model=None)
async def callback(request: Request) -> Response:
    params = {k: v for k, v in request.query_params.items() if len(v) <= 4096}
    result = await handshake.finish(context_of(request), params)
    if result.redirect_to is None:
        page = f"<!doctype html><title>Sign-in failed</title><p>{result.message}</p>"
        return HTMLResponse(page, status_code=400, headers=_NO_REFERRER)
    return RedirectResponse(result.redirect_to, status_code=303, headers=_NO_REFERRER)


@router.get(
    "/v4/sources/{source_id}/credentials",
    summary="Health of the source's OAuth credentials (never a token)",
    response_model=None,
    responses={200: {"model": schemas.CredentialHealth}, **source_schemas.error_responses(400, 401, 404)},
)
async def credential_health(request: Request, source_id: str, who: Auth) -> JSONResponse:
    ctx = context_of(request)
    return JSONResponse(await service.credential_health(ctx, who.account_id, source_id))


@router.post(
    "/v4/sources/{source_id}/credentials/access-token",
    summary="A fresh access token, for partners that call the provider themselves",
    response_model=None,
    responses={
        200: {"model": schemas.VendedToken},
        403: {"model": source_schemas.SourceErrorBody, "description": "Token lacks credentials:read"},
        409: {"model": source_schemas.SourceErrorBody, "description": "Credentials need re-authorization"},
        503: {"model": source_schemas.SourceErrorBody, "description": "Provider unavailable; retry later"},
        **source_schemas.error_responses(400, 401, 404),
    },
)
async def vend_access_token(
    request: Request,
    source_id: str,
    who: Auth,
    min_valid_seconds: Annotated[int | None, Query(ge=0, le=3600)] = None,
) -> JSONResponse:
    address = request.client.host if request.client else None
    vended = await service.vend_access_token(context_of(request), who, source_id, min_valid_seconds, address)
    return JSONResponse(
        {
            "access_token": vended.access_token,
            "token_type": "Bearer",
            "expires_at": to_wire(vended.expires_at),
        },
        headers={"Cache-Control": "no-store"},
    )


@router.get(
    "/v4/account/return-origins",
    summary="Origins the managed handshake may return to",
    response_model=None,
    responses={200: {"model": schemas.ReturnOrigins}, **source_schemas.error_responses(401)},
)
async def list_origins(request: Request, who: Auth) -> JSONResponse:
    async with context_of(request).db.read() as session:
        return JSONResponse({"origins": await service.origins(session, who.account_id)})


@router.put(
    "/v4/account/return-origins",
    summary="Replace the origins the managed handshake may return to",
    response_model=None,
    responses={200: {"model": schemas.ReturnOrigins}, **source_schemas.error_responses(400, 401)},
    openapi_extra=json_body(schemas.ReturnOrigins),
)
async def replace_origins(request: Request, who: Auth) -> JSONResponse:
    ctx = context_of(request)
    body = await _body(request)
    if not isinstance(body, dict) or set(body) != {"origins"} or not isinstance(body["origins"], list):
        raise errors.invalid_body('body must be {"origins": ["https://app.example.com", ...]}')
    async with ctx.db.unit_of_work() as session:
        origins = await service.replace_origins(session, who.account_id, body["origins"])
    return JSONResponse({"origins": origins})
