"""The runner's queries of extractions as leased work items (through ``jobs.leases``).

Connection checks have their own repository, shared with destinations:
``jobs.checks_repository``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, or_

from lockstitch.jobs import leases
from lockstitch.jobs.leases import EXTRACTIONS
from lockstitch.kit.db import Repository
from lockstitch.kit.time import utcnow
from lockstitch.models import Extraction, ExtractionLog, ExtractionState
from lockstitch.runner import joblog

_PENDING = ((Extraction.state == ExtractionState.PENDING) & Extraction.cancel_requested_at.is_(None),)
_RUNNING = (Extraction.state == ExtractionState.RUNNING,)
LAPSED_REASON = (
    "the worker running this extraction stopped (its lease lapsed); "
    "the next run resumes from the last confirmed state"
)


class ExtractionRepository(Repository):
    """Claiming extractions. Unlike checks, an extraction whose worker died is not run again
    behind the partner's back: once its lease lapses it is finished as failed (its state was
    never confirmed past the last good run, so the next run resumes from there)."""

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

    async def get(self, extraction_id: int) -> Extraction | None:
        return await self.session.get(Extraction, extraction_id)

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
