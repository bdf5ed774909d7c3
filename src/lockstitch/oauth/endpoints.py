"""OAuth extension endpoints (ARCHITECTURE.md section 6): managed handshake, credential health,
token vending, and the account's registered return origins."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lockstitch.accounts.audit import AuditRepository
from lockstitch.accounts.auth import Auth, Principal
from lockstitch.context import context_of, read_body
from lockstitch.kit.json import JSONResponse
from lockstitch.kit.openapi import json_body
from lockstitch.kit.time import to_wire, utcnow
from lockstitch.oauth import errors, handshake, schemas, states
from lockstitch.oauth.app_flags import AppFlagRepository
from lockstitch.oauth.lifecycle import TokenEngine
from lockstitch.oauth.repository import CredentialRepository, OriginRepository
from lockstitch.oauth.return_urls import UrlError, parse_origin
from lockstitch.oauth.vending import CredentialsUnavailable
from lockstitch.oauth.views import credential_json
from lockstitch.sources import errors as source_errors
from lockstitch.sources import schemas as source_schemas
from lockstitch.sources.repository import SourceRepository
from lockstitch.sources.service import parse_source_id

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


async def _credential_of(request: Request, who: Principal, raw_id: str) -> Any:
    ctx = context_of(request)
    source_id = parse_source_id(raw_id)
    async with ctx.db.read() as session:
        found = await SourceRepository(session).get(who.account_id, source_id)
        if found is None:
            raise source_errors.not_found(raw_id)
        credential = await CredentialRepository(session).for_source(who.account_id, source_id)
        flagged = await AppFlagRepository(session).flagged()
    if credential is None:
        raise errors.no_credentials(source_id)
    return credential, flagged


@router.get(
    "/v4/sources/{source_id}/credentials",
    summary="Health of the source's OAuth credentials (never a token)",
    response_model=None,
    responses={200: {"model": schemas.CredentialHealth}, **source_schemas.error_responses(400, 401, 404)},
)
async def credential_health(request: Request, source_id: str, who: Auth) -> JSONResponse:
    credential, flagged = await _credential_of(request, who, source_id)
    status = TokenEngine(context_of(request), context_of(request).process_id).visible_status(
        credential, flagged
    )
    return JSONResponse(credential_json(credential, status))


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
    ctx = context_of(request)
    if "credentials:read" not in who.scopes:
        raise errors.scope_required()
    credential, _ = await _credential_of(request, who, source_id)
    # Audited before anything is handed out, whatever the outcome.
    async with ctx.db.unit_of_work() as session:
        AuditRepository(session).add(
            account_id=who.account_id,
            api_token_id=who.token_id,
            action="credentials.access_token",
            source_id=credential.source_id,
            client_address=request.client.host if request.client else None,
            now=utcnow(),
        )
    engine = TokenEngine(ctx, ctx.process_id)
    try:
        vended = await engine.access_token(who.account_id, credential.source_id, min_valid_seconds)
    except CredentialsUnavailable as exc:
        if exc.status in states.UNAVAILABLE:
            raise errors.credentials_invalid(exc.status, exc.message) from None
        raise errors.credentials_unavailable(exc.message) from None
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
        return JSONResponse({"origins": await OriginRepository(session).origins(who.account_id)})


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
    if len(body["origins"]) > 50:
        raise errors.invalid_body("at most 50 origins")
    origins = []
    for value in body["origins"]:
        try:
            origins.append(parse_origin(value))
        except UrlError as exc:
            raise errors.invalid_body(f"{str(value)[:100]} {exc}") from None
    async with ctx.db.unit_of_work() as session:
        await OriginRepository(session).replace(who.account_id, sorted(set(origins)), utcnow())
    return JSONResponse({"origins": sorted(set(origins))})
