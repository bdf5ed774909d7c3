"""Request authentication: ``Authorization: Bearer ac_...`` -> the token's account.

Every v4 endpoint depends on ``authenticated``. A missing, malformed, unknown or revoked token is
the same 401 (no hint which), rendered in the endpoint family's error shape.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from lockstitch.accounts.repository import TokenRepository
from lockstitch.accounts.tokens import hash_token, looks_like_token
from lockstitch.kit.http import RouteError, context_of


@dataclass(frozen=True)
class Principal:
    account_id: int
    pricing_tier: str
    scopes: frozenset[str]
    token_id: int


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    # Stitch's docs once printed "Bearer: <token>"; accept that spelling too.
    if scheme.lower() not in ("bearer", "bearer:"):
        return None
    value = value.strip()
    return value if looks_like_token(value) else None


async def authenticated(request: Request) -> Principal:
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        raise RouteError("missing or invalid API access token", status_code=401)
    ctx = context_of(request)
    async with ctx.db.read() as session:
        owner = await TokenRepository(session).owner_of(hash_token(token))
    if owner is None:
        raise RouteError("missing or invalid API access token", status_code=401)
    return Principal(owner.account_id, owner.pricing_tier, owner.scopes, owner.token_id)
