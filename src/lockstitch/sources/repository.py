"""Every query about sources and their connection checks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Select, bindparam, select

from lockstitch.kit.db import Database, Repository
from lockstitch.kit.point_reads import PointQuery
from lockstitch.models import ConnectionCheck, OAuthCredential, Source


class SourceRow(NamedTuple):
    """A source with what its report card needs from other tables, read in one query."""

    source: Source
    check_state: str | None  # the state of its last connection check
    oauth_provides: list[str]  # properties its OAuth credentials provide


def _with_facts() -> Select[Source, str, list[str]]:
    return (
        select(Source, ConnectionCheck.state, OAuthCredential.provides)
        .outerjoin(ConnectionCheck, ConnectionCheck.name == Source.check_job_name)
        .outerjoin(OAuthCredential, OAuthCredential.source_id == Source.id)
    )


# Built once (constructing a Select costs more than running it): the PUT/DELETE path.
_GET = _with_facts().where(Source.id == bindparam("source_id"), Source.account_id == bindparam("account_id"))
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
    selection_complete: bool
    fully_configured_at: dt.datetime | None
    schedule_fired_at: dt.datetime | None
    paused_at: dt.datetime | None
    system_paused_at: dt.datetime | None
    system_pause_reason: str | None
    deleted_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


# Built once: constructing a Select costs more than running it (see kit.point_reads).
_FETCH_SOURCE = PointQuery(
    select(
        *Source.__table__.columns,
        ConnectionCheck.state.label("check_state"),
        OAuthCredential.provides.label("oauth_provides"),
    )
    .outerjoin(ConnectionCheck, ConnectionCheck.name == Source.check_job_name)
    .outerjoin(OAuthCredential, OAuthCredential.source_id == Source.id)
    .where(Source.id == bindparam("source_id"), Source.account_id == bindparam("account_id"))
)


async def fetch_source(
    db: Database, account_id: int, source_id: int
) -> tuple[SourceRecord, str | None, list[str]] | None:
    """One source and its report-card facts, read without a session (``Database.first``): the
    ``GET /v4/sources/{id}`` path."""
    row = await db.first(_FETCH_SOURCE, {"source_id": source_id, "account_id": account_id})
    if row is None:
        return None
    values = dict(row)
    state = values.pop("check_state")
    provides = values.pop("oauth_provides") or []
    return SourceRecord(**values), state, provides


class SourceRepository(Repository):
    async def get(self, account_id: int, source_id: int, *, for_update: bool = False) -> SourceRow | None:
        # FOR UPDATE serialises concurrent PUTs of one source on PostgreSQL (SQLite writers are
        # already serialised by BEGIN IMMEDIATE), so no property update is lost.
        query = _GET_FOR_UPDATE if for_update else _GET
        row = (await self.session.execute(query, {"source_id": source_id, "account_id": account_id})).first()
        return SourceRow(row[0], row[1], row[2] or []) if row else None

    async def list_for(self, account_id: int) -> Sequence[SourceRow]:
        rows = await self.session.execute(
            _with_facts().where(Source.account_id == account_id).order_by(Source.id)
        )
        return [SourceRow(r[0], r[1], r[2] or []) for r in rows]

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

    async def check(self, account_id: int, name: str) -> ConnectionCheck | None:
        return await self.session.scalar(
            select(ConnectionCheck).where(
                ConnectionCheck.name == name, ConnectionCheck.account_id == account_id
            )
        )

    async def by_id(self, source_id: int) -> Source | None:
        """One source by id, whatever its account (the caller holds a row that names it)."""
        return await self.session.get(Source, source_id)

    async def by_display_name(self, account_id: int, display_name: str) -> Source | None:
        """The account's source called ``display_name`` (deleted ones too)."""
        return await self.session.scalar(
            select(Source).where(Source.account_id == account_id, Source.display_name == display_name)
        )

    async def lock(self, source_id: int) -> Source | None:
        """One source, locked for a read-modify-write (FOR UPDATE on PostgreSQL; SQLite's
        writers are serialised by BEGIN IMMEDIATE)."""
        return await self.session.get(Source, source_id, with_for_update=True)

    async def batch_after(self, after_id: int, batch: int) -> Sequence[Source]:
        """Up to ``batch`` sources after ``after_id`` in id order, locked for rewriting."""
        return await self.locked_batch(Source, after_id, batch)
