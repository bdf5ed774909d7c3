"""The OAuth extension's rules, for the endpoints and the command line alike: an account's return
origins (at most ``MAX_ORIGINS``, each a normalised https origin), the credentials' health, and
vending an access token (``credentials:read`` scope, an audit row committed before anything is
handed out, a status instead of a token when the credentials need a person)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lockstitch.accounts.audit import AuditRepository
from lockstitch.accounts.auth import Principal
from lockstitch.context import Context
from lockstitch.kit.time import utcnow
from lockstitch.models import OAuthCredential
from lockstitch.oauth import errors, states
from lockstitch.oauth.app_flags import AppFlagRepository
from lockstitch.oauth.lifecycle import TokenEngine
from lockstitch.oauth.repository import CredentialRepository, OriginRepository
from lockstitch.oauth.return_urls import UrlError, parse_origin
from lockstitch.oauth.vending import CredentialsUnavailable, VendedToken
from lockstitch.oauth.views import credential_json
from lockstitch.sources import errors as source_errors
from lockstitch.sources.repository import SourceRepository
from lockstitch.sources.service import parse_source_id

MAX_ORIGINS = 50
VENDING_SCOPE = "credentials:read"


# ------------------------------------------------------------------------------------ origins
def normalize_origin(value: Any) -> str:
    """``value`` as a registered origin is stored (scheme://host[:port]), or InvalidBody."""
    try:
        return parse_origin(value)
    except UrlError as exc:
        raise errors.invalid_body(f"{str(value)[:100]} {exc}") from None


async def origins(session: AsyncSession, account_id: int) -> list[str]:
    return await OriginRepository(session).origins(account_id)


async def replace_origins(session: AsyncSession, account_id: int, values: list[Any]) -> list[str]:
    """Replace the account's origins with ``values`` (at most ``MAX_ORIGINS``); returns them
    normalised, sorted, each once."""
    if len(values) > MAX_ORIGINS:
        raise errors.too_many_origins(MAX_ORIGINS)
    wanted = sorted({normalize_origin(value) for value in values})
    await OriginRepository(session).replace(account_id, wanted, utcnow())
    return wanted


async def add_origin(session: AsyncSession, account_id: int, value: str) -> str:
    """Add one origin (already there: nothing changes); refused once the account has
    ``MAX_ORIGINS``. Returns it normalised."""
    origin = normalize_origin(value)
    repo = OriginRepository(session)
    existing = await repo.origins(account_id)
    if origin not in existing and len(existing) >= MAX_ORIGINS:
        raise errors.too_many_origins(MAX_ORIGINS)
    await repo.add(account_id, origin, utcnow())
    return origin


async def remove_origin(session: AsyncSession, account_id: int, origin: str) -> bool:
    return await OriginRepository(session).remove(account_id, origin)


# ------------------------------------------------------------------------------------ credentials
async def _credential_of(
    ctx: Context, account_id: int, raw_id: str
) -> tuple[OAuthCredential, dict[str, str]]:
    source_id = parse_source_id(raw_id)
    async with ctx.db.read() as session:
        if await SourceRepository(session).get(account_id, source_id) is None:
            raise source_errors.not_found(raw_id)
        credential = await CredentialRepository(session).for_source(account_id, source_id)
        flagged = await AppFlagRepository(session).flagged()
    if credential is None:
        raise errors.no_credentials(source_id)
    return credential, flagged


async def credential_health(ctx: Context, account_id: int, raw_id: str) -> dict[str, Any]:
    """The credentials' health as a person should see it (never a token)."""
    credential, flagged = await _credential_of(ctx, account_id, raw_id)
    return credential_json(credential, states.visible_status(ctx.providers, credential, flagged))


async def vend_access_token(
    ctx: Context, who: Principal, raw_id: str, min_valid: float | None, client_address: str | None
) -> VendedToken:
    """A fresh access token for a partner calling the provider itself.

    The audit row is committed in its own unit of work before anything is handed out, whatever
    the outcome; the engine then opens its own (a refresh must not wait inside a transaction).
    """
    if VENDING_SCOPE not in who.scopes:
        raise errors.scope_required()
    credential, _ = await _credential_of(ctx, who.account_id, raw_id)
    async with ctx.db.unit_of_work() as session:
        AuditRepository(session).add(
            account_id=who.account_id,
            api_token_id=who.token_id,
            action="credentials.access_token",
            source_id=credential.source_id,
            client_address=client_address,
            now=utcnow(),
        )
    try:
        return await TokenEngine(ctx, ctx.process_id).access_token(
            who.account_id, credential.source_id, min_valid
        )
    except CredentialsUnavailable as exc:
        if exc.status in states.UNAVAILABLE:
            raise errors.credentials_invalid(exc.status, exc.message) from None
        raise errors.credentials_unavailable(exc.message) from None
