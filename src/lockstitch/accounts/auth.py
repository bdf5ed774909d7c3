"""Request authentication: ``Authorization: Bearer ac_...`` -> the token's account.

Every v4 endpoint depends on ``authenticated``. A missing, malformed, unknown or revoked token is
the same 401 (no hint which), rendered in the endpoint family's error shape.

Verified tokens are remembered for one second (``TokenCache``): a busy client then costs one
lookup a second instead of one per request. The price is that a revoked token (or an account
whose plan changed) keeps working for up to that second, in every process; failures are never
cached, so a new token works at once.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from lockstitch.accounts.repository import find_owner
from lockstitch.accounts.tokens import hash_token, looks_like_token
from lockstitch.context import context_of
from lockstitch.kit.http import RouteError


@dataclass(frozen=True)
class Principal:
    account_id: int
    pricing_tier: str
    scopes: frozenset[str]
    token_id: int


class TokenCache:
    def __init__(self, ttl_seconds: float = 1.0, max_entries: int = 10_000) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, Principal]] = OrderedDict()

    def get(self, token_hash: str) -> Principal | None:
        entry = self._entries.get(token_hash)
        if entry is None:
            return None
        if entry[0] < time.monotonic():
            del self._entries[token_hash]
            return None
        return entry[1]

    def put(self, token_hash: str, principal: Principal) -> None:
        self._entries[token_hash] = (time.monotonic() + self.ttl, principal)
        self._entries.move_to_end(token_hash)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


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
    token_hash = hash_token(token)
    cache: TokenCache = request.app.state.token_cache
    principal = cache.get(token_hash)
    if principal is not None:
        return principal
    owner = await find_owner(context_of(request).db, token_hash)
    if owner is None:
        raise RouteError("missing or invalid API access token", status_code=401)
    principal = Principal(owner.account_id, owner.pricing_tier, owner.scopes, owner.token_id)
    cache.put(token_hash, principal)
    return principal


# The one way a route asks for its caller: ``who: Auth``.
Auth = Annotated[Principal, Depends(authenticated)]
