"""Work the OAuth domain hands the worker: refresh every credential that is due."""

from __future__ import annotations

import datetime as dt

from lockstitch.context import Context
from lockstitch.kit.time import utcnow
from lockstitch.oauth.lifecycle import TokenEngine
from lockstitch.oauth.repository import StateRepository

_PURGE_EVERY = dt.timedelta(minutes=10)


class RefreshCredentials:
    name = "oauth.refresh"

    def __init__(self) -> None:
        self._engine: TokenEngine | None = None
        self._purged_at: dt.datetime | None = None

    async def run_once(self, ctx: Context, worker_id: str) -> bool:
        if self._engine is None:
            self._engine = TokenEngine(ctx, worker_id)
        await self._purge_old_states(ctx)
        return await self._engine.refresh_due() > 0

    async def _purge_old_states(self, ctx: Context) -> None:
        now = utcnow()
        if self._purged_at is not None and now - self._purged_at < _PURGE_EVERY:
            return
        self._purged_at = now
        async with ctx.db.unit_of_work() as session:
            await StateRepository(session).purge_expired(now - dt.timedelta(days=1))
