"""Every query about destinations, and the connection checks a destination queues (the checks
as leased work items: ``jobs.checks_repository``)."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import delete, func, select

from lockstitch.kit.db import Repository
from lockstitch.models import Account, CheckState, ConnectionCheck, Destination, Source


class DestinationRepository(Repository):
    async def get(
        self, account_id: int, destination_id: int, *, for_update: bool = False
    ) -> Destination | None:
        # FOR UPDATE serialises concurrent PUTs of one destination on PostgreSQL (SQLite writers
        # are serialised already), so no property update is lost.
        query = select(Destination).where(
            Destination.id == destination_id, Destination.account_id == account_id
        )
        if for_update:
            query = query.with_for_update()
        return await self.session.scalar(query)

    async def list_for(self, account_id: int, destination_id: int | None = None) -> Sequence[Destination]:
        query = select(Destination).where(Destination.account_id == account_id)
        if destination_id is not None:
            query = query.where(Destination.id == destination_id)
        return list(await self.session.scalars(query.order_by(Destination.id)))

    async def list_live(self, account_id: int) -> Sequence[Destination]:
        """The account's live destinations, oldest first (``GET /v3/destinations``)."""
        query = select(Destination).where(
            Destination.account_id == account_id, Destination.deleted_at.is_(None)
        )
        return list(await self.session.scalars(query.order_by(Destination.id)))

    async def lock_account(self, account_id: int) -> None:
        """Hold the account's row until the transaction ends: two concurrent creates of a limited
        account then count one after the other (PostgreSQL; SQLite serialises writers anyway)."""
        await self.session.execute(select(Account.id).where(Account.id == account_id).with_for_update())

    async def count_live(self, account_id: int) -> int:
        count = await self.session.scalar(
            select(func.count())
            .select_from(Destination)
            .where(Destination.account_id == account_id, Destination.deleted_at.is_(None))
        )
        return int(count or 0)

    async def live(self, account_id: int, destination_id: int) -> Destination | None:
        return await self.session.scalar(
            select(Destination).where(
                Destination.id == destination_id,
                Destination.account_id == account_id,
                Destination.deleted_at.is_(None),
            )
        )

    async def default_for(self, account_id: int) -> Destination | None:
        """The oldest live destination that takes unmapped sources."""
        return await self.session.scalar(
            select(Destination)
            .where(
                Destination.account_id == account_id,
                Destination.deleted_at.is_(None),
                Destination.ignore_unmapped_sources.is_(False),
            )
            .order_by(Destination.created_at, Destination.id)
            .limit(1)
        )

    async def source_destination(self, account_id: int, source_id: int) -> tuple[bool, int | None]:
        """``(the source exists in the account, its destination_id)``."""
        row = (
            await self.session.execute(
                select(Source.destination_id).where(Source.id == source_id, Source.account_id == account_id)
            )
        ).first()
        return (row is not None, row[0] if row is not None else None)

    async def drop_pending_checks(self, destination_id: int) -> None:
        """Checks still queued for a destination whose properties change: a new one replaces them
        (a check already running finishes and is recorded, but is no longer the last one)."""
        await self.session.execute(
            delete(ConnectionCheck).where(
                ConnectionCheck.destination_id == destination_id, ConnectionCheck.state == CheckState.PENDING
            )
        )

    async def check(self, account_id: int, name: str) -> ConnectionCheck | None:
        return await self.session.scalar(
            select(ConnectionCheck).where(
                ConnectionCheck.name == name, ConnectionCheck.account_id == account_id
            )
        )

    async def checks_named(self, account_id: int, names: Collection[str]) -> dict[str, ConnectionCheck]:
        """The account's checks with these names, by name: one query for a whole list."""
        if not names:
            return {}
        found = await self.session.scalars(
            select(ConnectionCheck).where(
                ConnectionCheck.account_id == account_id, ConnectionCheck.name.in_(list(names))
            )
        )
        return {check.name: check for check in found}

    async def batch_after(self, after_id: int, batch: int) -> Sequence[Destination]:
        """Up to ``batch`` destinations after ``after_id`` in id order, locked for rewriting."""
        return await self.locked_batch(Destination, after_id, batch)
