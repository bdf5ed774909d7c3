"""Connection checks as work items: the one repository for leasing the ``connection_checks``
table, for source checks (the runner's discovery) and destination checks (a probe) alike.

A check row is its own work item, leased through ``jobs.leases``. A check whose lease lapsed
(its worker died or hung) is claimable again: a check has no side effects, so repeating it is
safe. Finishing records the outcome and releases the lease in one statement, only while the
worker still holds it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal, TypeVar

from sqlalchemy import and_, or_, select, update

from lockstitch.jobs import leases
from lockstitch.jobs.leases import CONNECTION_CHECKS
from lockstitch.kit.db import Repository
from lockstitch.models import CheckState, ConnectionCheck, Destination, Source

# What a check exercises: a source (discovery) or a destination (a probe).
Subject = Literal["source", "destination"]
Checked = TypeVar("Checked", Source, Destination)


def _claimable(subject: Subject, now: dt.datetime) -> Any:
    # Queued, or running under a lease its worker let lapse: run it again.
    column = ConnectionCheck.source_id if subject == "source" else ConnectionCheck.destination_id
    return and_(
        column.is_not(None),
        or_(
            ConnectionCheck.state == CheckState.PENDING,
            and_(ConnectionCheck.state == CheckState.RUNNING, CONNECTION_CHECKS.lapsed(now)),
        ),
    )


def queued_check(subject: Source | Destination, now: dt.datetime) -> ConnectionCheck:
    """A new pending check of a source or a destination, named ``{client}.{id}.check.{uuid}``
    for both; the caller adds it and points the subject's ``check_job_name`` at it."""
    is_source = isinstance(subject, Source)
    return ConnectionCheck(
        account_id=subject.account_id,
        source_id=subject.id if is_source else None,
        destination_id=None if is_source else subject.id,
        name=f"{subject.account_id}.{subject.id}.check.{uuid.uuid4()}",
        state=CheckState.PENDING,
        created_at=now,
    )


class CheckRepository(Repository):
    async def any_claimable(self, subject: Subject, now: dt.datetime) -> bool:
        """Read-only (``leases.any_due``)."""
        return await leases.any_due(self.session, CONNECTION_CHECKS, [_claimable(subject, now)])

    async def claim(
        self, subject: Subject, worker_id: str, now: dt.datetime, lease_until: dt.datetime, limit: int
    ) -> list[int]:
        """Take the lease of up to ``limit`` claimable checks of ``subject``, oldest first."""
        return await leases.start_oldest(
            self.session,
            CONNECTION_CHECKS,
            worker_id,
            now,
            lease_until,
            where=[_claimable(subject, now)],
            limit=limit,
            values={"state": CheckState.RUNNING, "completion_time": None},
        )

    async def renew(self, check_id: int, worker_id: str, lease_until: dt.datetime) -> bool:
        return (
            await leases.renew(self.session, CONNECTION_CHECKS, check_id, worker_id, lease_until) is not None
        )

    async def finish(self, check_id: int, worker_id: str, values: dict[str, Any]) -> bool:
        """Record a check's outcome and release its lease, only if this worker still holds it."""
        return await leases.finish(self.session, CONNECTION_CHECKS, check_id, worker_id, values) is not None

    async def get_with(self, model: type[Checked], check_id: int) -> tuple[ConnectionCheck, Checked] | None:
        """The check and what it checks (a ``Source`` or a ``Destination``)."""
        subject_id = ConnectionCheck.source_id if model is Source else ConnectionCheck.destination_id
        row = (
            await self.session.execute(
                select(ConnectionCheck, model)
                .join(model, model.id == subject_id)
                .where(ConnectionCheck.id == check_id)
            )
        ).first()
        return (row[0], row[1]) if row else None

    async def state_of(self, name: str) -> str | None:
        """The state of the check called ``name`` (None when there is none)."""
        return await self.session.scalar(select(ConnectionCheck.state).where(ConnectionCheck.name == name))

    async def lock_source(self, source_id: int) -> Source | None:
        return await self.session.get(Source, source_id, with_for_update=True, populate_existing=True)

    async def fail_pending_check(self, source: Source, message: str, now: dt.datetime) -> None:
        """A check waiting for these credentials cannot succeed: end it with the reason (only a
        pending one: no worker holds it, so no lease is involved)."""
        if not source.check_job_name:
            return
        await self.session.execute(
            update(ConnectionCheck)
            .where(ConnectionCheck.name == source.check_job_name, ConnectionCheck.state == CheckState.PENDING)
            .values(
                state=CheckState.FAILED,
                start_time=now,
                completion_time=now,
                check_exit_status=1,
                discovery_error_message=message,
            )
        )
