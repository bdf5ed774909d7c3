"""Every query of the replication endpoints: active jobs, completed extractions, logs, loads."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import ColumnElement, SQLColumnExpression, func, select

from lockstitch.kit.db import Repository
from lockstitch.models import Extraction, ExtractionLog, Load
from lockstitch.models.extraction import ACTIVE, COMPLETED


class ReplicationRepository(Repository):
    async def active_for_update(self, source_id: int) -> Extraction | None:
        """The source's pending or running extraction, locked and read fresh.

        On PostgreSQL the row lock waits out a worker that is claiming the job right now, and
        then hands back the state it committed (``running``), so a stop never marks a job that
        a worker already started as cancelled-before-start. SQLite writers are serialised by
        BEGIN IMMEDIATE, which gives the same guarantee."""
        query = (
            select(Extraction)
            .where(Extraction.source_id == source_id, Extraction.state.in_(ACTIVE))
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return await self.session.scalar(query)

    def add_log(self, log: ExtractionLog) -> None:
        self.session.add(log)

    async def flush(self) -> None:
        await self.session.flush()

    def _completed_since(self, account_id: int, since: dt.datetime) -> list[ColumnElement[bool]]:
        return [
            Extraction.account_id == account_id,
            Extraction.state.in_(COMPLETED),
            Extraction.completion_time >= since,
        ]

    async def count_latest_completed(self, account_id: int, since: dt.datetime) -> int:
        """How many sources have an extraction that completed since ``since``."""
        query = select(func.count(func.distinct(Extraction.source_id))).where(
            *self._completed_since(account_id, since)
        )
        return int(await self.session.scalar(query) or 0)

    async def latest_completed(
        self, account_id: int, since: dt.datetime, offset: int, limit: int
    ) -> Sequence[Extraction]:
        """Per source, its most recent extraction that completed since ``since``; by source id."""
        ranked = (
            select(
                Extraction.id,
                func.row_number()
                .over(
                    partition_by=Extraction.source_id,
                    order_by=(Extraction.completion_time.desc(), Extraction.id.desc()),
                )
                .label("rank"),
            )
            .where(*self._completed_since(account_id, since))
            .subquery()
        )
        query = (
            select(Extraction)
            .join(ranked, ranked.c.id == Extraction.id)
            .where(ranked.c.rank == 1)
            .order_by(Extraction.source_id)
            .offset(offset)
            .limit(limit)
        )
        return list(await self.session.scalars(query))

    async def job_with_log(self, account_id: int, job_name: str) -> tuple[Extraction, bool] | None:
        """The account's extraction called ``job_name``, and whether its log is written."""
        query = (
            select(Extraction, ExtractionLog.extraction_id)
            .outerjoin(ExtractionLog, ExtractionLog.extraction_id == Extraction.id)
            .where(Extraction.job_name == job_name, Extraction.account_id == account_id)
        )
        row = (await self.session.execute(query)).first()
        return (row[0], row[1] is not None) if row else None

    async def log_content(self, job_name: str) -> str | None:
        """The log of the extraction called ``job_name`` (any account: the caller checked a
        signature naming it)."""
        query = (
            select(ExtractionLog.content)
            .join(Extraction, Extraction.id == ExtractionLog.extraction_id)
            .where(Extraction.job_name == job_name)
        )
        return await self.session.scalar(query)

    async def count_loads(self, account_id: int, since: dt.datetime) -> int:
        query = select(func.count()).select_from(Load).where(*self._loads_since(account_id, since))
        return int(await self.session.scalar(query) or 0)

    async def loads(self, account_id: int, since: dt.datetime, offset: int, limit: int) -> Sequence[Load]:
        """Load attempts updated since ``since``, by source name, then stream name (spec 9.3)."""
        query = (
            select(Load)
            .where(*self._loads_since(account_id, since))
            .order_by(self._binary(Load.source_name), self._binary(Load.stream_name), Load.source_id, Load.id)
            .offset(offset)
            .limit(limit)
        )
        return list(await self.session.scalars(query))

    @staticmethod
    def _loads_since(account_id: int, since: dt.datetime) -> list[ColumnElement[bool]]:
        return [Load.account_id == account_id, Load.updated_at >= since]

    def _binary(self, column: SQLColumnExpression[str]) -> SQLColumnExpression[str]:
        # Names sort by code point on both databases: SQLite compares text bytewise, PostgreSQL
        # by the database's collation (en_US sorts "customers" before "customer_view") unless
        # told otherwise. Pages are cut in SQL, so the order must be the same everywhere.
        if self.session.get_bind().dialect.name == "postgresql":
            return column.collate("C")
        return column
