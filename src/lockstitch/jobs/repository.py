"""Every query of the scheduler (``jobs.scheduler``).

The scan reads a few narrow columns of every schedulable source (fully configured, live, not
paused) in one statement; the scheduler fetches whole rows only for sources whose schedule it
has not computed yet, and locks one source at a time to fire it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import bindparam, select

from lockstitch.jobs.leases import lock_or_skip
from lockstitch.kit.db import Repository
from lockstitch.models import CheckState, ConnectionCheck, Source

# Ids per ``IN (...)`` list: well under SQLite's and asyncpg's parameter limits.
FETCH_CHUNK = 500


class ScheduleRow(NamedTuple):
    """What decides whether a source's cached due fire is still right: every write that can
    change a schedule (properties, pause, selection) also moves ``updated_at``."""

    id: int
    updated_at: dt.datetime
    schedule_fired_at: dt.datetime | None
    fully_configured_at: dt.datetime | None


# A source the scheduler may fire: what the report card calls fully configured (a stream and a
# field selected, its current connection check succeeded), neither deleted nor paused by anyone.
_SCHEDULABLE = (
    Source.deleted_at.is_(None),
    Source.paused_at.is_(None),
    Source.system_paused_at.is_(None),
    Source.selection_complete.is_(True),
    Source.fully_configured_at.is_not(None),
    ConnectionCheck.state == CheckState.SUCCEEDED,
)

# Built once: constructing a Select costs more than running it, and the scan runs every second.
_SCAN = (
    select(Source.id, Source.updated_at, Source.schedule_fired_at, Source.fully_configured_at)
    .join(ConnectionCheck, ConnectionCheck.name == Source.check_job_name)
    .where(*_SCHEDULABLE)
)
_FETCH = select(Source).where(Source.id.in_(bindparam("ids", expanding=True)))
# SKIP LOCKED (``leases.lock_or_skip``): a row another scheduler (or an API write) holds is that
# writer's business this round; if it is still due afterwards, the next round fires it.
_LOCK = lock_or_skip(
    select(Source, ConnectionCheck.state)
    .outerjoin(ConnectionCheck, ConnectionCheck.name == Source.check_job_name)
    .where(Source.id == bindparam("source_id")),
    of=Source,
)


class ScheduleRepository(Repository):
    async def schedulable(self) -> list[ScheduleRow]:
        result = await self.session.execute(_SCAN)
        return [ScheduleRow(*row) for row in result]

    async def sources(self, ids: Sequence[int]) -> list[Source]:
        found: list[Source] = []
        for start in range(0, len(ids), FETCH_CHUNK):
            chunk = list(ids[start : start + FETCH_CHUNK])
            found.extend((await self.session.scalars(_FETCH, {"ids": chunk})).all())
        return found

    async def lock(self, source_id: int) -> tuple[Source, str | None] | None:
        """The source, locked for this unit of work, with the state of its current connection
        check; None when it is gone or another transaction holds it (PostgreSQL)."""
        row = (await self.session.execute(_LOCK, {"source_id": source_id})).first()
        if row is None:
            return None
        source, check_state = row
        return source, check_state
