"""``/v3/destinations`` for older clients: the v3 body translated onto the v4 rules.

A v3 body is exactly ``{"type", "connection"}``; ``connection`` is what v4 calls ``properties``.
Creating and updating go through ``service.create`` and ``service.update``, so limits,
validation, credential sealing and the queued connection check have one rule for both
versions; only the wire differs (``v3_views``). A malformed v3 body answers Stitch's v3 text
(``errors.V3_BODY``); every other error is the v4 one, a plain string as in the whole family.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lockstitch.accounts.auth import Principal
from lockstitch.catalog.destination_type import DestinationType
from lockstitch.context import Context
from lockstitch.destinations import errors, service
from lockstitch.destinations.repository import DestinationRepository
from lockstitch.destinations.v3_views import destination_v3_json
from lockstitch.models import Destination

V3_KEYS = frozenset({"type", "connection"})


def _v4_body(body: Any) -> dict[str, Any]:
    """The v4 body a v3 one stands for. Both keys are required (the v3 message says so, for a
    PUT too: its documented example sends both); any other shape is the v3 error."""
    if not isinstance(body, dict) or set(body) != V3_KEYS:
        raise errors.invalid_body(errors.V3_BODY)
    if not isinstance(body["type"], str) or not isinstance(body["connection"], dict):
        raise errors.invalid_body(errors.V3_BODY)
    # Typed values (5432, false) are fine: the v4 rules store them as strings.
    return {"type": body["type"], "properties": body["connection"]}


async def _v3(
    repo: DestinationRepository, account_id: int, destination: Destination, kind: DestinationType | None
) -> dict[str, Any]:
    name = destination.check_job_name
    checks = await repo.checks_named(account_id, [name] if name else [])
    return destination_v3_json(destination, kind, checks.get(name) if name else None)


async def list_destinations(session: AsyncSession, ctx: Context, who: Principal) -> list[dict[str, Any]]:
    """The account's live destinations, oldest first. v3 has no query parameters; any sent are
    ignored (an older client may add its own, and there is nothing to filter by)."""
    repo = DestinationRepository(session)
    destinations = await repo.list_live(who.account_id)
    names = [d.check_job_name for d in destinations if d.check_job_name]
    checks = await repo.checks_named(who.account_id, names)
    return [
        destination_v3_json(
            d,
            ctx.catalog.destination_type(d.type),
            checks.get(d.check_job_name) if d.check_job_name else None,
        )
        for d in destinations
    ]


async def create_destination(
    session: AsyncSession, ctx: Context, who: Principal, body: Any
) -> dict[str, Any]:
    destination, kind = await service.create(session, ctx, who, _v4_body(body), errors.V3_BODY)
    return await _v3(DestinationRepository(session), who.account_id, destination, kind)


async def update_destination(
    session: AsyncSession, ctx: Context, who: Principal, raw_id: str, body: Any
) -> dict[str, Any]:
    """``type`` must be the destination's (``service.update``: "does not support modifying
    destination type"); an id that is malformed, unknown, deleted or another account's is
    "invalid connection id", as on v4."""
    destination, kind = await service.update(session, ctx, who, raw_id, _v4_body(body), errors.V3_BODY)
    return await _v3(DestinationRepository(session), who.account_id, destination, kind)
