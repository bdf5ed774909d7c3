"""Queueing an extraction: the one place a replication job is created.

``POST /v4/sources/{id}/sync`` (trigger "manual") and the scheduler (trigger "schedule") both
come here, in the caller's unit of work. A source has at most one pending or running
extraction; the partial unique index on ``extractions`` enforces it even when two requests race,
and the loser gets the running one back (``created`` False) to answer ``already_running``.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lockstitch.jobs.extractions_repository import ExtractionRepository
from lockstitch.models import Extraction, ExtractionState, Source


def job_name(account_id: int, source_id: int) -> str:
    return f"{account_id}.{source_id}.sync.{uuid.uuid4()}"


async def enqueue_extraction(
    session: AsyncSession, source: Source, trigger: str, now: dt.datetime
) -> tuple[Extraction, bool]:
    """A pending extraction for ``source`` (``created`` True), or the one already pending or
    running (``created`` False)."""
    extractions = ExtractionRepository(session)
    running = await extractions.active(source.id)
    if running is not None:
        return running, False
    extraction = Extraction(
        account_id=source.account_id,
        source_id=source.id,
        job_name=job_name(source.account_id, source.id),
        trigger=trigger,
        state=ExtractionState.PENDING,
        created_at=now,
        records={},
    )
    try:
        async with session.begin_nested():
            session.add(extraction)
    except IntegrityError:
        # Another request queued one between our read and our insert.
        raced = await extractions.active(source.id)
        if raced is None:
            raise
        return raced, False
    return extraction, True
