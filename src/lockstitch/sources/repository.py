"""Every query about sources and their connection checks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from lockstitch.kit.db import Database
from lockstitch.kit.point_reads import PointQuery
from lockstitch.models import ConnectionCheck, Source

# A source and the state of its last connection check, in one row (GET runs it per request).
SourceRow = tuple[Source, str | None]


def _with_check() -> Select[Source, str]:
    return select(Source, ConnectionCheck.state).outerjoin(
        ConnectionCheck, ConnectionCheck.name == Source.check_job_name
    )


# Built once (constructing a Select costs more than running it): the PUT/DELETE path.
_GET = _with_check().where(Source.id == bindparam("source_id"), Source.account_id == bindparam("account_id"))
_GET_FOR_UPDATE = _GET.with_for_update(of=Source)


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """A source read without a session: what ``views`` need, nothing that could be written back."""

    id: int
    account_id: int
    type: str
    name: str
    display_name: str
    properties: dict[str, Any]
    credentials: dict[str, str]
    destination_id: int | None
    check_job_name: str | None
    fully_configured_at: dt.datetime | None
    paused_at: dt.datetime | None
    system_paused_at: dt.datetime | None
    deleted_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


# Built once: constructing a Select costs more than running it (see kit.db._PointReads).
_FETCH_SOURCE = PointQuery(
    select(*Source.__table__.columns, ConnectionCheck.state.label("check_state"))
    .outerjoin(ConnectionCheck, ConnectionCheck.name == Source.check_job_name)
    .where(Source.id == bindparam("source_id"), Source.account_id == bindparam("account_id"))
)


async def fetch_source(
    db: Database, account_id: int, source_id: int
) -> tuple[SourceRecord, str | None] | None:
    """One source and its check state, read without a session (``Database.first``): the
    ``GET /v4/sources/{id}`` path."""
    row = await db.first(_FETCH_SOURCE, {"source_id": source_id, "account_id": account_id})
    if row is None:
        return None
    values = dict(row)
    state = values.pop("check_state")
    return SourceRecord(**values), state


class SourceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, account_id: int, source_id: int, *, for_update: bool = False) -> SourceRow | None:
        # FOR UPDATE serialises concurrent PUTs of one source on PostgreSQL (SQLite writers are
        # already serialised by BEGIN IMMEDIATE), so no property update is lost.
        query = _GET_FOR_UPDATE if for_update else _GET
        row = (await self.session.execute(query, {"source_id": source_id, "account_id": account_id})).first()
        return (row[0], row[1]) if row else None

    async def list(self, account_id: int) -> Sequence[SourceRow]:
        rows = await self.session.execute(
            _with_check().where(Source.account_id == account_id).order_by(Source.id)
        )
        return [(r[0], r[1]) for r in rows]

    async def live_name_taken(self, account_id: int, name: str) -> bool:
        found = await self.session.scalar(
            select(Source.id).where(
                Source.account_id == account_id, Source.name == name, Source.deleted_at.is_(None)
            )
        )
        return found is not None

    async def live_display_name_taken(
        self, account_id: int, display_name: str, *, except_id: int | None = None
    ) -> bool:
        query = select(Source.id).where(
            Source.account_id == account_id,
            Source.display_name == display_name,
            Source.deleted_at.is_(None),
        )
        if except_id is not None:
            query = query.where(Source.id != except_id)
        return (await self.session.scalar(query.limit(1))) is not None

    async def add(self, source: Source) -> Source:
        self.session.add(source)
        await self.session.flush()
        return source

    async def add_check(self, check: ConnectionCheck) -> None:
        self.session.add(check)
        await self.session.flush()

    async def check(self, account_id: int, name: str) -> ConnectionCheck | None:
        return await self.session.scalar(
            select(ConnectionCheck).where(
                ConnectionCheck.name == name, ConnectionCheck.account_id == account_id
            )
        )

    async def batch_after(self, after_id: int, batch: int) -> Sequence[Source]:
        """Up to ``batch`` sources after ``after_id`` in id order, locked for rewriting."""
        query = select(Source).where(Source.id > after_id).order_by(Source.id).limit(batch).with_for_update()
        return list(await self.session.scalars(query))
