"""Every query of an extraction's tables: ``extractions`` (as leased work items, through
``jobs.leases``, and as the replication endpoints list them), ``extraction_logs``, ``loads``
and ``source_states`` (the state a target confirmed).

Here, below ``runner`` and ``replication``, so the queue (``jobs.queue``), the runner and the
endpoints all read and write these tables through one module. Connection checks have their
own repository: ``jobs.checks_repository``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, SQLColumnExpression, func, or_, select

from lockstitch.jobs import joblog, leases
from lockstitch.jobs.leases import EXTRACTIONS
from lockstitch.kit.db import Repository
from lockstitch.kit.time import utcnow
from lockstitch.models import Extraction, ExtractionLog, ExtractionState, Load, SourceState
from lockstitch.models.extraction import ACTIVE, COMPLETED

_PENDING = ((Extraction.state == ExtractionState.PENDING) & Extraction.cancel_requested_at.is_(None),)
_RUNNING = (Extraction.state == ExtractionState.RUNNING,)
LAPSED_REASON = (
    "the worker running this extraction stopped (its lease lapsed); "
    "the next run resumes from the last confirmed state"
)


class ExtractionRepository(Repository):
    """Extractions and their logs. Unlike checks, an extraction whose worker died is not run
    again behind the partner's back: once its lease lapses it is finished as failed (its state
    was never confirmed past the last good run, so the next run resumes from there)."""

    async def active(self, source_id: int) -> Extraction | None:
        """The source's pending or running extraction (at most one: a partial unique index)."""
        return await self.session.scalar(
            select(Extraction).where(Extraction.source_id == source_id, Extraction.state.in_(ACTIVE))
        )

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

    async def get(self, extraction_id: int) -> Extraction | None:
        return await self.session.get(Extraction, extraction_id)

    async def by_job_name(self, job_name: str) -> Extraction | None:
        return await self.session.scalar(select(Extraction).where(Extraction.job_name == job_name))

    def add_log(self, log: ExtractionLog) -> None:
        self.session.add(log)

    async def flush(self) -> None:
        await self.session.flush()

    # --- the runner's leases -------------------------------------------------------------------

    async def any_due(self, now: dt.datetime) -> bool:
        """Anything to claim or to finish as failed (read-only, ``leases.any_due``)."""
        due = or_(*_PENDING, (Extraction.state == ExtractionState.RUNNING) & EXTRACTIONS.lapsed(now))
        return await leases.any_due(self.session, EXTRACTIONS, [due])

    async def claim(
        self, worker_id: str, now: dt.datetime, lease_until: dt.datetime, limit: int
    ) -> list[int]:
        return await leases.start_oldest(
            self.session,
            EXTRACTIONS,
            worker_id,
            now,
            lease_until,
            where=_PENDING,
            limit=limit,
            values={"state": ExtractionState.RUNNING},
        )

    async def fail_lapsed(self, now: dt.datetime) -> list[str]:
        """Running extractions whose worker stopped renewing: failed, with the reason."""
        ended = await leases.recover_lapsed(
            self.session,
            EXTRACTIONS,
            now,
            {
                "state": ExtractionState.FAILED,
                "completion_time": now,
                # A reason the worker recorded before it stopped is kept.
                "tap_description": func.coalesce(func.nullif(Extraction.tap_description, ""), LAPSED_REASON),
            },
            where=_RUNNING,
            returning=[Extraction.id, Extraction.job_name],
        )
        for extraction_id, job_name in ended:
            # The worker's own log died with it: this one says what happened, in the usual format.
            self.session.add(
                ExtractionLog(extraction_id=extraction_id, content=joblog.lapsed(job_name, LAPSED_REASON))
            )
        return [job_name for _, job_name in ended]

    async def renew(self, extraction_id: int, worker_id: str, lease_until: dt.datetime) -> tuple[bool, bool]:
        """(still ours, cancel requested)."""
        row = await leases.renew(
            self.session,
            EXTRACTIONS,
            extraction_id,
            worker_id,
            lease_until,
            where=_RUNNING,
            returning=[Extraction.cancel_requested_at],
        )
        return (row is not None, row is not None and row[0] is not None)

    async def write_held(self, extraction_id: int, worker_id: str, values: dict[str, Any]) -> None:
        """Write ``values`` while this worker holds the extraction (no-op if not ours)."""
        await leases.write_held(self.session, EXTRACTIONS, extraction_id, worker_id, values)

    async def end(self, extraction_id: int, worker_id: str, values: dict[str, Any], log_text: str) -> bool:
        """Record the outcome with its log and release the lease, only while this worker holds
        it (a worker that lost it must not overwrite whoever finished the job as failed)."""
        if await leases.finish(self.session, EXTRACTIONS, extraction_id, worker_id, values) is None:
            return False
        self.session.add(ExtractionLog(extraction_id=extraction_id, content=log_text))
        return True

    async def fail(self, extraction_id: int, worker_id: str, reason: str) -> None:
        """End a job this worker holds as failed, with a log saying why (no-op if not ours)."""
        ended = await leases.finish(
            self.session,
            EXTRACTIONS,
            extraction_id,
            worker_id,
            {"state": ExtractionState.FAILED, "completion_time": utcnow(), "tap_description": reason},
            where=_RUNNING,
            returning=[Extraction.job_name],
        )
        if ended is None:
            return
        if await self.session.get(ExtractionLog, extraction_id) is None:
            self.session.add(
                ExtractionLog(extraction_id=extraction_id, content=joblog.lapsed(ended[0], reason))
            )

    # --- what the replication endpoints list ---------------------------------------------------

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


class LoadRepository(Repository):
    """The last load attempt of each stream of a source: written when an extraction ends,
    listed by ``GET /v4/{client}/loads``."""

    async def for_stream(self, account_id: int, source_id: int, stream_name: str) -> Load:
        """The stream's load row; a new one, staged (not flushed), when it has none yet."""
        load = await self.session.scalar(
            select(Load).where(Load.source_id == source_id, Load.stream_name == stream_name)
        )
        if load is None:
            load = Load(account_id=account_id, source_id=source_id, stream_name=stream_name)
            self.session.add(load)
        return load

    async def count(self, account_id: int, since: dt.datetime) -> int:
        query = select(func.count()).select_from(Load).where(*self._since(account_id, since))
        return int(await self.session.scalar(query) or 0)

    async def page(self, account_id: int, since: dt.datetime, offset: int, limit: int) -> Sequence[Load]:
        """Load attempts updated since ``since``, by source name, then stream name (spec 9.3)."""
        query = (
            select(Load)
            .where(*self._since(account_id, since))
            .order_by(self._binary(Load.source_name), self._binary(Load.stream_name), Load.source_id, Load.id)
            .offset(offset)
            .limit(limit)
        )
        return list(await self.session.scalars(query))

    @staticmethod
    def _since(account_id: int, since: dt.datetime) -> list[ColumnElement[bool]]:
        return [Load.account_id == account_id, Load.updated_at >= since]

    def _binary(self, column: SQLColumnExpression[str]) -> SQLColumnExpression[str]:
        # Names sort by code point on both databases: SQLite compares text bytewise, PostgreSQL
        # by the database's collation (en_US sorts "customers" before "customer_view") unless
        # told otherwise. Pages are cut in SQL, so the order must be the same everywhere.
        if self.session.get_bind().dialect.name == "postgresql":
            return column.collate("C")
        return column


class SourceStateRepository(Repository):
    """The state the target last confirmed for a source: where its next extraction resumes."""

    async def get(self, source_id: int) -> Any | None:
        saved = await self.session.get(SourceState, source_id)
        return saved.state if saved is not None else None

    async def keep(self, source_id: int, state: Any, job_name: str, now: dt.datetime) -> None:
        """Store ``state`` as confirmed by ``job_name`` (its row locked for the write)."""
        saved = await self.session.get(SourceState, source_id, with_for_update=True)
        if saved is None:
            self.session.add(SourceState(source_id=source_id, state=state, job_name=job_name, updated_at=now))
        else:
            saved.state, saved.job_name, saved.updated_at = state, job_name, now
