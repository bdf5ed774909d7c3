"""Every query of the runner: claiming connection checks with a lease, renewing it, recording.

A check row is its own work item (ARCHITECTURE.md section 1). A worker takes it by setting
``claimed_by`` and ``lease_expires_at``; while the check runs the worker renews the lease. A
check whose lease lapsed (its worker died) is taken again by the next worker: checks are safe
to repeat. PostgreSQL claims with ``FOR UPDATE SKIP LOCKED`` so workers never wait on each
other; SQLite serialises writers and ignores the clause.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lockstitch.kit.time import utcnow
from lockstitch.models import ConnectionCheck, Extraction, ExtractionLog, Source
from lockstitch.runner import joblog


class CheckRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @staticmethod
    def _claimable(now: dt.datetime) -> Any:
        return and_(
            ConnectionCheck.source_id.is_not(None),
            or_(
                ConnectionCheck.state == "pending",
                (ConnectionCheck.state == "running") & (ConnectionCheck.lease_expires_at < now),
            ),
        )

    async def any_claimable(self, now: dt.datetime) -> bool:
        """A read-only look first: an idle worker polling every second must not take SQLite's
        write lock (the token refresher needs it) just to find nothing."""
        return (
            await self.session.scalar(select(ConnectionCheck.id).where(self._claimable(now)).limit(1))
            is not None
        )

    async def claim_source_checks(
        self, worker_id: str, now: dt.datetime, lease_until: dt.datetime, limit: int
    ) -> list[int]:
        due = (
            select(ConnectionCheck.id)
            .where(self._claimable(now))
            .order_by(ConnectionCheck.created_at, ConnectionCheck.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        ids = list(await self.session.scalars(due))
        if not ids:
            return []
        await self.session.execute(
            update(ConnectionCheck)
            .where(ConnectionCheck.id.in_(ids))
            .values(state="running", claimed_by=worker_id, lease_expires_at=lease_until, start_time=now)
            .execution_options(synchronize_session=False)
        )
        return ids

    async def renew(self, check_id: int, worker_id: str, lease_until: dt.datetime) -> bool:
        result = await self.session.execute(
            update(ConnectionCheck)
            .where(ConnectionCheck.id == check_id, ConnectionCheck.claimed_by == worker_id)
            .values(lease_expires_at=lease_until)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def get_with_source(self, check_id: int) -> tuple[ConnectionCheck, Source] | None:
        row = (
            await self.session.execute(
                select(ConnectionCheck, Source)
                .join(Source, Source.id == ConnectionCheck.source_id)
                .where(ConnectionCheck.id == check_id)
            )
        ).first()
        return (row[0], row[1]) if row else None

    async def lock_source(self, source_id: int) -> Source | None:
        return await self.session.get(Source, source_id, with_for_update=True, populate_existing=True)

    async def finish(self, check_id: int, worker_id: str, values: dict[str, Any]) -> bool:
        """Record a check's outcome, only if this worker still holds it (a worker whose lease
        lapsed must not overwrite the outcome of the worker that took over)."""
        result = await self.session.execute(
            update(ConnectionCheck)
            .where(ConnectionCheck.id == check_id, ConnectionCheck.claimed_by == worker_id)
            .values(**values, lease_expires_at=None)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))


class ExtractionRepository:
    """Claiming extractions. Unlike checks, an extraction whose worker died is not run again
    behind the partner's back: once its lease lapses it is finished as failed (its state was
    never confirmed past the last good run, so the next run resumes from there)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def any_due(self, now: dt.datetime) -> bool:
        """Anything to claim or to finish as failed (read-only; see CheckRepository.any_claimable)."""
        found = await self.session.scalar(
            select(Extraction.id)
            .where(
                or_(
                    (Extraction.state == "pending") & Extraction.cancel_requested_at.is_(None),
                    (Extraction.state == "running") & (Extraction.lease_expires_at < now),
                )
            )
            .limit(1)
        )
        return found is not None

    async def claim(
        self, worker_id: str, now: dt.datetime, lease_until: dt.datetime, limit: int
    ) -> list[int]:
        due = (
            select(Extraction.id)
            .where(Extraction.state == "pending", Extraction.cancel_requested_at.is_(None))
            .order_by(Extraction.created_at, Extraction.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        ids = list(await self.session.scalars(due))
        if ids:
            await self.session.execute(
                update(Extraction)
                .where(Extraction.id.in_(ids))
                .values(state="running", claimed_by=worker_id, lease_expires_at=lease_until, start_time=now)
                .execution_options(synchronize_session=False)
            )
        return ids

    async def fail_lapsed(self, now: dt.datetime) -> list[str]:
        """Running extractions whose worker stopped renewing: failed, with the reason."""
        lapsed = list(
            await self.session.scalars(
                select(Extraction)
                .where(Extraction.state == "running", Extraction.lease_expires_at < now)
                .with_for_update(skip_locked=True)
            )
        )
        for extraction in lapsed:
            reason = (
                "the worker running this extraction stopped (its lease lapsed); "
                "the next run resumes from the last confirmed state"
            )
            extraction.state = "failed"
            extraction.completion_time = now
            extraction.lease_expires_at = None
            extraction.tap_description = extraction.tap_description or reason
            # The worker's own log died with it: this one says what happened, in the usual format.
            self.session.add(
                ExtractionLog(extraction_id=extraction.id, content=joblog.lapsed(extraction.job_name, reason))
            )
        return [e.job_name for e in lapsed]

    async def renew(self, extraction_id: int, worker_id: str, lease_until: dt.datetime) -> tuple[bool, bool]:
        """(still ours, cancel requested)."""
        row = (
            await self.session.execute(
                update(Extraction)
                .where(
                    Extraction.id == extraction_id,
                    Extraction.claimed_by == worker_id,
                    Extraction.state == "running",
                )
                .values(lease_expires_at=lease_until)
                .returning(Extraction.cancel_requested_at)
            )
        ).first()
        return (row is not None, row is not None and row[0] is not None)

    async def get(self, extraction_id: int) -> Extraction | None:
        return await self.session.get(Extraction, extraction_id)

    async def fail(self, extraction_id: int, worker_id: str, reason: str) -> None:
        """End a job this worker holds as failed, with a log saying why (no-op if not ours)."""
        extraction = await self.session.get(Extraction, extraction_id, with_for_update=True)
        if extraction is None or extraction.claimed_by != worker_id or extraction.state != "running":
            return
        extraction.state = "failed"
        extraction.completion_time = utcnow()
        extraction.lease_expires_at = None
        extraction.tap_description = reason
        if await self.session.get(ExtractionLog, extraction_id) is None:
            self.session.add(
                ExtractionLog(extraction_id=extraction_id, content=joblog.lapsed(extraction.job_name, reason))
            )
