"""What every connection-check runner does with the ``connection_checks`` queue.

A source's check (discovery, ``runner.tasks``) and a destination's (a probe,
``destinations.tasks``) share one table and one lease: both find, claim, load and renew their
checks the same way, by ``subject``. Only the work, the failure record and the concurrency are
their own.
"""

from __future__ import annotations

import datetime as dt
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from lockstitch.context import Context
from lockstitch.jobs.checks_repository import CheckRepository, Subject
from lockstitch.jobs.leased_runner import LeasedRunner
from lockstitch.models import ConnectionCheck, Destination, Source

Checked = TypeVar("Checked", Source, Destination)


class CheckRunner(LeasedRunner[tuple[ConnectionCheck, Checked]], Generic[Checked]):
    subject: Subject
    model: type[Checked]

    async def any_due(self, session: AsyncSession, now: dt.datetime) -> bool:
        return await CheckRepository(session).any_claimable(self.subject, now)

    async def claim(
        self, session: AsyncSession, worker_id: str, now: dt.datetime, until: dt.datetime, room: int
    ) -> list[int]:
        return await CheckRepository(session).claim(self.subject, worker_id, now, until, room)

    async def load(
        self, ctx: Context, worker_id: str, item_id: int
    ) -> tuple[ConnectionCheck, Checked] | None:
        async with ctx.db.read() as session:
            return await CheckRepository(session).get_with(self.model, item_id)

    async def renew(
        self, session: AsyncSession, worker_id: str, item: tuple[ConnectionCheck, Checked], until: dt.datetime
    ) -> bool:
        return await CheckRepository(session).renew(item[0].id, worker_id, until)
