"""Storing refresh outcomes: batched, compare-and-swapped, and never given up on.

Outcomes that arrive together share one transaction (under load a worker settles dozens of
refreshes per commit instead of one); each waits for the commit that holds its own, so nothing
reads as done before it is stored. What may be stored is decided row by row
(``repository.Settlement``): a provider's answer as long as its refresh token is still the one
held (even after the lease was lost), a verdict only while the lease is still this worker's.

A database that cannot be written (locked by another connection, restarting) does not lose an
outcome: the batch is tried again with growing pauses for as long as the process lives. A
rotated refresh token that was not stored is a dead grant, so giving up is never the answer.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from lockstitch.catalog.source_type import SourceType
from lockstitch.context import Context
from lockstitch.kit.crypto import Keyring
from lockstitch.kit.logging import get_logger
from lockstitch.models import Source
from lockstitch.oauth.repository import CredentialRepository, Settlement
from lockstitch.sources import credentials as source_credentials

log = get_logger("lockstitch.oauth")

# Effects of a stored outcome, given the status the credential had just before it.
Effects = Callable[[AsyncSession, str], Awaitable[None]]
SETTLE_BATCH = 100
RETRY_PAUSES = (0.2, 0.5, 1.0, 2.0, 5.0)  # then every 5 s


@dataclass
class _Waiting:
    settlement: Settlement
    effects: Effects | None
    stored: asyncio.Future[bool]


class Settler:
    def __init__(self, ctx: Context, worker_id: str) -> None:
        self.ctx = ctx
        self.worker_id = worker_id
        self._queue: list[_Waiting] = []
        self._task: asyncio.Task[None] | None = None

    async def settle(self, settlement: Settlement, effects: Effects | None = None) -> bool:
        """Store one outcome with its effects; True if it was stored (the swap held)."""
        waiting = _Waiting(settlement, effects, asyncio.get_running_loop().create_future())
        self._queue.append(waiting)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())
        return await waiting.stored

    async def _run(self) -> None:
        while self._queue:
            await asyncio.sleep(0)  # let outcomes that are ready join this batch
            batch, self._queue = self._queue[:SETTLE_BATCH], self._queue[SETTLE_BATCH:]
            try:
                stored = await self._store(batch)
            except Exception as exc:  # noqa: BLE001 - every waiter learns that the batch failed
                for waiting in batch:
                    if not waiting.stored.done():
                        waiting.stored.set_exception(exc)
                continue
            for waiting in batch:
                if not waiting.stored.done():
                    waiting.stored.set_result(waiting.settlement.credential_id in stored)

    async def _store(self, batch: list[_Waiting]) -> dict[int, str]:
        attempt = 0
        while True:
            try:
                async with self.ctx.db.unit_of_work() as session:
                    stored = await CredentialRepository(session).settle_many(
                        [w.settlement for w in batch], self.worker_id
                    )
                    for waiting in batch:
                        previous = stored.get(waiting.settlement.credential_id)
                        if previous is not None and waiting.effects is not None:
                            await waiting.effects(session, previous)
            except (OperationalError, DBAPIError, OSError, TimeoutError) as exc:
                attempt += 1
                log.warning(
                    "refresh outcomes not stored yet; trying again",
                    outcomes=len(batch),
                    attempt=attempt,
                    error=type(exc).__name__,
                )
                await asyncio.sleep(RETRY_PAUSES[min(attempt, len(RETRY_PAUSES)) - 1])
            else:
                return stored


def apply_token_fields(
    keyring: Keyring,
    source_type: SourceType | None,
    source: Source,
    fields: dict[str, Any],
    mapping: dict[str, str],
    now: dt.datetime,
) -> None:
    """Copy provider fields (Salesforce ``instance_url``, QuickBooks ``realmId``...) onto the
    source as properties: plain if the card says so, sealed if it is a credential."""
    if not mapping or source_type is None:
        return
    properties = dict(source.properties)
    sealed = dict(source.credentials)
    changed = False
    for field, name in mapping.items():
        value = fields.get(field)
        spec = source_type.properties.get(name)
        if not isinstance(value, str) or not value or spec is None:
            continue
        if spec.definition.is_credential:
            sealed[name] = source_credentials.seal(keyring, source, name, value)
            changed = True
        elif properties.get(name) != value:
            properties[name] = value
            changed = True
    if changed:
        source.properties = properties
        source.credentials = sealed
        source.updated_at = now
