"""Handing out what a source's credentials are good for: access tokens (to partners with the
vending scope, and to taps), never a refresh token Lockstitch rotates.

Every path goes through the engine: a token that would not last is refreshed first (one refresh
whoever asks, ``TokenEngine.refresh_if_due``), and a credential that needs a person answers
with its status instead of a token.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from dataclasses import dataclass
from typing import Protocol

from lockstitch.config import OAuthSettings
from lockstitch.context import Context
from lockstitch.kit.time import utcnow
from lockstitch.models import OAuthCredential
from lockstitch.oauth import sealing, states
from lockstitch.oauth.app_flags import AppFlagRepository
from lockstitch.oauth.protocol import OAuthError
from lockstitch.oauth.refresh_request import client_and_token
from lockstitch.oauth.repository import Claim, CredentialRepository
from lockstitch.oauth.timing import NO_EXPIRY_CHECK
from lockstitch.sources.repository import SourceRepository


class TokenEngine(Protocol):
    """What vending needs of ``lifecycle.TokenEngine``: its context and its one-refresh trigger."""

    ctx: Context
    settings: OAuthSettings

    async def refresh_if_due(self, credential_id: int, *, within: float = 0.0) -> str: ...


FORCE_WINDOW = 10 * 365 * 86400.0  # "due within ten years": refresh now, whatever the expiry


class CredentialsUnavailable(Exception):  # noqa: N818 - a state, raised to the endpoint
    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class VendedToken:
    access_token: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class TapCredentials:
    """What a tap run gets of a source's OAuth credentials: values under the type's property
    names (client id and secret, refresh token) plus ``access_token`` valid for the run, and the
    list of every secret in play (to scrub the tap's messages)."""

    values: dict[str, str]
    expires_at: dt.datetime

    @property
    def secrets(self) -> list[str]:
        return list(self.values.values())


async def access_token(
    engine: TokenEngine, account_id: int, source_id: int, min_valid: float | None
) -> VendedToken:
    """An access token of the source valid for at least ``min_valid`` seconds (default: a
    minute, or half the token's lifetime when shorter). Never hands out an expired token."""
    status = "none"
    for _ in range(3):
        async with engine.ctx.db.read() as session:
            credential = await CredentialRepository(session).for_source(account_id, source_id)
            flagged = await AppFlagRepository(session).flagged()
        if credential is None:
            raise CredentialsUnavailable("none", "this source has no OAuth credentials")
        status = states.visible_status(engine.ctx.providers, credential, flagged)
        if status in states.UNAVAILABLE:
            raise CredentialsUnavailable(status, f"the source's credentials are {status}")
        wanted = _min_valid(credential, min_valid)
        now = utcnow()
        expires = credential.access_token_expires_at
        if credential.access_token and (expires is None or (expires - now).total_seconds() > wanted):
            token = sealing.unseal(engine.ctx.keyring, credential, "access_token")
            return VendedToken(token, expires or now + NO_EXPIRY_CHECK)
        await engine.refresh_if_due(credential.id, within=wanted)
    raise CredentialsUnavailable(status, "no fresh access token could be obtained; try again later")


async def tap_credentials(
    engine: TokenEngine, account_id: int, source_id: int, min_valid: float
) -> TapCredentials:
    """Credentials for a tap run of ``min_valid`` seconds: a fresh access token (refreshed
    first if it would expire during the run, as far as the provider's token lifetime allows;
    longer runs get tokens through ``runner.token_relay``) and the client and refresh token
    under the type's property names, for taps that take them."""
    vended = await access_token(engine, account_id, source_id, min_valid)
    async with engine.ctx.db.read() as session:
        credential = await CredentialRepository(session).for_source(account_id, source_id)
        source = await SourceRepository(session).by_id(source_id)
    if credential is None or source is None:
        raise CredentialsUnavailable("none", "this source has no OAuth credentials")
    source_type = engine.ctx.catalog.source_type(source.type)
    oauth = source_type.definition.oauth if source_type else None
    values = {"access_token": vended.access_token}
    provider = engine.ctx.providers.get(credential.provider)
    if oauth is not None and provider is not None:
        claim = Claim(credential, source.type, source.properties, source.credentials)
        try:
            client, refresh_token = client_and_token(engine.ctx, claim, provider)
        except OAuthError as exc:
            raise CredentialsUnavailable(states.CredentialStatus.INCOMPLETE, exc.summary) from None
        values[oauth.client_id] = client.client_id
        values[oauth.client_secret] = client.client_secret
        values[oauth.refresh_token] = refresh_token
    return TapCredentials(values, vended.expires_at)


async def confirm_rejected(engine: TokenEngine, account_id: int, source_id: int) -> str:
    """A tap was refused with the access token Lockstitch handed it: ask the provider whether
    the grant still stands by refreshing now. A grant revoked at the provider ends as
    ``needs_reauth`` (after the usual second strike); returns the status then."""
    async with engine.ctx.db.read() as session:
        credential = await CredentialRepository(session).for_source(account_id, source_id)
    if credential is None:
        return "none"
    settings = engine.settings
    deadline = time.monotonic() + 2 * settings.reauth_confirm_seconds + 2 * settings.http_timeout_seconds
    while True:
        outcome = await engine.refresh_if_due(credential.id, within=FORCE_WINDOW)
        async with engine.ctx.db.read() as session:
            current = await CredentialRepository(session).get(credential.id)
            flagged = await AppFlagRepository(session).flagged()
        assert current is not None
        status = states.visible_status(engine.ctx.providers, current, flagged)
        if (
            outcome != "reauth"
            or status == states.CredentialStatus.NEEDS_REAUTH
            or time.monotonic() > deadline
        ):
            return status
        # First strike: the rule wants a second refusal after a pause before giving up.
        wait = (current.refresh_due_at - utcnow()).total_seconds() if current.refresh_due_at else 0.0
        await asyncio.sleep(max(0.0, wait) + 0.05)


def _min_valid(credential: OAuthCredential, requested: float | None) -> float:
    """How long the handed-out token must stay valid: what was asked (default a minute), but
    never more than half the provider's token lifetime: no token outlives that, and a caller
    needing longer (a tap run) must come back for a fresh one."""
    wanted = 60.0 if requested is None else requested
    if credential.access_token_expires_at and credential.last_refreshed_at:
        lifetime = (credential.access_token_expires_at - credential.last_refreshed_at).total_seconds()
        return min(wanted, lifetime / 2)
    return wanted
