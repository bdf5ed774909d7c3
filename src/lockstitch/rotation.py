"""``lockstitch keys rotate``: every table that stores sealed secrets, re-sealed batch by batch.

Each rotator re-seals one batch after a given id in its own transaction and returns
``(last id, how many re-sealed)``; a batch's rows are locked while it is rewritten, so a server
writing the same rows meanwhile loses nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from lockstitch.context import Context
from lockstitch.destinations import credentials as destination_credentials
from lockstitch.kit.crypto import Keyring
from lockstitch.oauth import sealing as oauth_sealing
from lockstitch.sources import credentials as source_credentials

Rotator = Callable[..., Awaitable[tuple[int, int]]]
ROTATORS: list[tuple[str, Rotator]] = [
    ("source credentials", source_credentials.rotate),
    ("oauth credentials", oauth_sealing.rotate),
    ("destination credentials", destination_credentials.rotate),
]


async def rotate_all(ctx: Context) -> dict[str, int]:
    totals: dict[str, int] = {}
    for name, rotate in ROTATORS:
        after, total = 0, 0
        while True:
            async with ctx.db.unit_of_work() as session:
                last, resealed = await _call(rotate, session, ctx.keyring, after)
            total += resealed
            if last == after:
                break
            after = last
        totals[name] = total
    return totals


async def _call(rotate: Rotator, session: AsyncSession, keyring: Keyring, after: int) -> tuple[int, int]:
    return await rotate(session, keyring, after_id=after)
