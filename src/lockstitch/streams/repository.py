"""Every query about streams (and the source row they hang from)."""

from __future__ import annotations

from sqlalchemy import select

from lockstitch.kit.db import Repository
from lockstitch.models import Source, Stream


class StreamRepository(Repository):
    async def source(self, account_id: int, source_id: int, *, for_update: bool = False) -> Source | None:
        """The account's source (deleted ones too). ``for_update`` locks its row: every change
        to a source's streams takes that lock first, so a metadata PUT and a re-discovery (or two
        PUTs) never interleave on PostgreSQL; SQLite writers are serialised by BEGIN IMMEDIATE."""
        query = select(Source).where(Source.id == source_id, Source.account_id == account_id)
        if for_update:
            query = query.with_for_update()
        return await self.session.scalar(query)

    async def lock_source(self, source: Source) -> None:
        """Lock a source the caller already holds, and re-read it under the lock.

        Pending changes are flushed first, so re-reading cannot lose them.
        """
        await self.session.flush()
        query = select(Source).where(Source.id == source.id).with_for_update()
        await self.session.execute(query.execution_options(populate_existing=True))

    async def streams_of(self, source_id: int) -> list[Stream]:
        query = select(Stream).where(Stream.source_id == source_id).order_by(Stream.id)
        return list(await self.session.scalars(query))

    async def stream(self, account_id: int, source_id: int, stream_id: int) -> Stream | None:
        return await self.session.scalar(
            select(Stream).where(
                Stream.id == stream_id, Stream.source_id == source_id, Stream.account_id == account_id
            )
        )

    def stage(self, stream: Stream) -> None:
        """Add without flushing: the rest of the discovery is written, and flushed, with it."""
        self.session.add(stream)

    async def delete(self, stream: Stream) -> None:
        await self.session.delete(stream)

    async def flush(self) -> None:
        await self.session.flush()
