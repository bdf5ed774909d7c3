"""The managed OAuth handshake (extension): authorize, then the provider's callback.

    POST /v4/sources/{id}/oauth/authorize {"return_url"}
        -> OAuthState (hash of a random state, 10 min, single use, bound to account + source,
           sealed PKCE verifier) -> {"authorization_url", "expires_at"}
    GET /oauth/callback?code&state[&iss] (or ?error&state)
        -> state taken once -> iss checked -> code exchanged (outside any transaction)
        -> tokens stored on the source's OAuthCredential (app "managed"), provider fields copied,
           a credentials-paused source unpaused (source.reauthorized), a connection check queued
        -> 303 to return_url?source_id=..&status=succeeded, or status=failed&error=<code>

A callback whose state is unknown, expired, reused or tampered with has no trustworthy
return_url: it gets a plain error page and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lockstitch.accounts.auth import Principal
from lockstitch.context import Context
from lockstitch.kit.logging import get_logger
from lockstitch.kit.time import to_wire, utcnow
from lockstitch.models import OAuthCredential, OAuthState
from lockstitch.oauth import errors, ownership, sealing, states
from lockstitch.oauth.protocol import OAuthError, authorization_url, new_state, pkce_pair, token_request
from lockstitch.oauth.repository import CredentialRepository, OriginRepository, StateRepository
from lockstitch.oauth.return_urls import UrlError, origin_of, with_params
from lockstitch.oauth.settle import apply_token_fields
from lockstitch.oauth.timing import refresh_due
from lockstitch.sources import errors as source_errors
from lockstitch.sources.repository import SourceRepository
from lockstitch.sources.service import parse_source_id, queue_check_if_due

log = get_logger("lockstitch.oauth")
_STATE_SHAPE = re.compile(r"^[A-Za-z0-9_\-]{20,100}$")
_ERROR_CODE = re.compile(r"^[a-z_]{1,60}$")


def state_hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


async def start(
    session: AsyncSession, ctx: Context, who: Principal, raw_id: str, body: Any
) -> dict[str, Any]:
    if not isinstance(body, dict) or set(body) != {"return_url"} or not isinstance(body["return_url"], str):
        raise errors.invalid_body('body must be {"return_url": "<https URL on a registered origin>"}')
    source_id = parse_source_id(raw_id)
    found = await SourceRepository(session).get(who.account_id, source_id)
    if found is None:
        raise source_errors.not_found(raw_id)
    source = found.source
    if source.deleted_at is not None:
        raise source_errors.deleted(source.id)
    source_type = ctx.catalog.source_type(source.type)
    oauth = source_type.definition.oauth if source_type else None
    if oauth is None:
        raise errors.no_oauth(source.type)
    provider = ctx.providers.get(oauth.provider)
    if provider is None or provider.managed is None:
        raise errors.no_managed_app(oauth.provider)
    return_url = body["return_url"]
    try:
        origin = origin_of(return_url)
    except UrlError as exc:
        raise errors.bad_return_url(str(exc)) from None
    if origin not in await OriginRepository(session).origins(who.account_id):
        raise errors.unregistered_origin(origin)

    now = utcnow()
    state = new_state()
    verifier, challenge = pkce_pair() if provider.spec.pkce else (None, None)
    hashed = state_hash(state)
    expires_at = now + dt.timedelta(seconds=ctx.settings.oauth.state_ttl_seconds)
    redirect_uri = ctx.settings.oauth_callback_url
    await StateRepository(session).add(
        OAuthState(
            state_hash=hashed,
            account_id=who.account_id,
            source_id=source.id,
            provider=provider.name,
            code_verifier=ctx.keyring.encrypt(verifier, sealing.state_data(hashed)) if verifier else None,
            redirect_uri=redirect_uri,
            return_url=return_url,
            created_at=now,
            expires_at=expires_at,
        )
    )
    url = authorization_url(
        provider.spec.authorization_url,
        client_id=provider.managed.client_id,
        redirect_uri=redirect_uri,
        scopes=oauth.scopes if oauth.scopes is not None else provider.spec.scopes,
        scope_separator=provider.spec.scope_separator,
        state=state,
        code_challenge=challenge,
        extra=provider.spec.authorization_params,
    )
    return {"authorization_url": url, "expires_at": to_wire(expires_at)}


@dataclass(frozen=True)
class CallbackResult:
    """Either a redirect to the partner's return_url, or a page (when there is none to trust)."""

    redirect_to: str | None
    message: str = ""


def _failed(state: OAuthState, error: str) -> CallbackResult:
    code = error if _ERROR_CODE.match(error) else "oauth_error"
    return CallbackResult(
        with_params(state.return_url, {"source_id": str(state.source_id), "status": "failed", "error": code})
    )


async def finish(ctx: Context, params: dict[str, str]) -> CallbackResult:
    raw_state = params.get("state", "")
    if not _STATE_SHAPE.match(raw_state):
        return CallbackResult(None, "This sign-in link is not valid.")
    now = utcnow()
    async with ctx.db.unit_of_work() as session:
        state = await StateRepository(session).take(state_hash(raw_state), now)
    if state is None:
        return CallbackResult(None, "This sign-in link is not valid, has expired, or was already used.")

    provider = ctx.providers.get(state.provider)
    if provider is None or provider.managed is None:
        return _failed(state, "unconfigured")
    if "error" in params:
        return _failed(state, params["error"])
    if "iss" in params and provider.spec.issuer and params["iss"] != provider.spec.issuer:
        log.warning("callback from an unexpected issuer", provider=provider.name)
        return _failed(state, "invalid_issuer")
    code = params.get("code")
    if not code:
        return _failed(state, "invalid_request")
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": state.redirect_uri}
    form.update(provider.spec.token_params)
    if state.code_verifier:
        form["code_verifier"] = ctx.keyring.decrypt(state.code_verifier, sealing.state_data(state.state_hash))
    try:
        response = await token_request(
            ctx.http,
            provider.spec.token_url,
            provider.managed,
            form,
            timeout=ctx.settings.oauth.http_timeout_seconds,
            trusted=True,  # the provider's endpoint, as packaged or as the operator configured it
        )
    except OAuthError as exc:
        log.info("authorization code exchange failed", provider=provider.name, error=exc.code)
        return _failed(state, exc.code)
    if response.refresh_token is None:
        return _failed(state, "no_refresh_token")

    async with ctx.db.unit_of_work() as session:
        stored = await _store(session, ctx, state, provider.spec.default_expires_in, response, params)
    if not stored:
        return _failed(state, "source_deleted")
    return CallbackResult(
        with_params(state.return_url, {"source_id": str(state.source_id), "status": "succeeded"})
    )


async def _store(
    session: AsyncSession,
    ctx: Context,
    state: OAuthState,
    default_lifetime: int | None,
    response: Any,
    params: dict[str, str],
) -> bool:
    repo = SourceRepository(session)
    found = await repo.get(state.account_id, state.source_id, for_update=True)
    if found is None or found.source.deleted_at is not None:
        return False
    source = found.source
    source_type = ctx.catalog.source_type(source.type)
    provider = ctx.providers.get(state.provider)
    assert source_type is not None
    assert source_type.definition.oauth is not None
    assert provider is not None
    now = utcnow()
    credentials = CredentialRepository(session)
    credential = await credentials.for_source(source.account_id, source.id)
    if credential is None:
        credential = OAuthCredential(
            account_id=source.account_id,
            source_id=source.id,
            provider=state.provider,
            version=0,
            failures=0,
            created_at=now,
        )
        session.add(credential)
    lifetime = response.expires_in or default_lifetime
    credential.provider = state.provider
    credential.app = "managed"
    credential.client_id = None
    credential.client_secret = None
    credential.refresh_token = sealing.seal(ctx.keyring, credential, "refresh_token", response.refresh_token)
    credential.access_token = sealing.seal(ctx.keyring, credential, "access_token", response.access_token)
    credential.access_token_expires_at = now + dt.timedelta(seconds=lifetime) if lifetime else None
    credential.refresh_due_at = refresh_due(now, lifetime)
    credential.last_refreshed_at = now
    # valid, a new life (a refresh with the old token is moot), the source unpaused and told.
    await states.apply(session, credential, states.Outcome.HANDSHAKE_COMPLETED, now=now, source=source)
    credential.provides = ownership.provided_names(source_type.definition.oauth, credential)
    credential.updated_at = now
    await session.flush()

    endpoint = source_type.definition.oauth.token_url_property
    if endpoint and endpoint in source.properties:
        # The managed app refreshes at the provider's endpoint; a partner's value would mislead.
        source.properties = {k: v for k, v in source.properties.items() if k != endpoint}
    apply_token_fields(ctx.keyring, source_type, source, response.raw, provider.spec.token_fields, now)
    apply_token_fields(ctx.keyring, source_type, source, params, provider.spec.callback_fields, now)
    source.updated_at = now
    await queue_check_if_due(repo, source, source_type, found.check_state, credential.provides, True)
    return True
