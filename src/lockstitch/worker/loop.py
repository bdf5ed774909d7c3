"""The worker loop and the ``Job`` protocol that background work implements."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol

from lockstitch.context import Context
from lockstitch.kit.logging import get_logger

log = get_logger("lockstitch.worker")


class Job(Protocol):
    name: str

    async def run_once(self, ctx: Context, worker_id: str) -> bool:
        """Claim and do (or start) due work; True if there was any (the loop then asks again)."""
        ...


async def _close(job: Job) -> None:
    """Jobs that run work in the background stop it when the worker stops."""
    close = getattr(job, "close", None)
    if close is not None:
        await close()


def registered_jobs() -> list[Job]:
    """Every kind of background work, in the order the loop asks for it."""
    from lockstitch.destinations.tasks import CheckDestinations  # noqa: PLC0415
    from lockstitch.jobs.scheduler import ScheduleExtractions  # noqa: PLC0415
    from lockstitch.oauth.tasks import RefreshCredentials  # noqa: PLC0415 - domains import the worker's context
    from lockstitch.runner.tasks import RunConnectionChecks, RunExtractions  # noqa: PLC0415

    return [
        RefreshCredentials(),
        RunConnectionChecks(),
        CheckDestinations(),
        ScheduleExtractions(),
        RunExtractions(),
    ]


class Worker:
    def __init__(self, ctx: Context, jobs: list[Job] | None = None) -> None:
        self.ctx = ctx
        self.jobs = registered_jobs() if jobs is None else jobs
        self.worker_id = ctx.process_id

    async def run(self, stop: asyncio.Event) -> None:
        log.info("worker started", worker_id=self.worker_id, jobs=[j.name for j in self.jobs])
        poll = self.ctx.settings.worker_poll_seconds
        while not stop.is_set():
            busy = False
            for job in self.jobs:
                try:
                    busy = await job.run_once(self.ctx, self.worker_id) or busy
                except Exception:  # one failing job must not stop the others; it is logged
                    log.exception("job failed", job=job.name)
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=poll)
        for job in self.jobs:
            await _close(job)
        log.info("worker stopped", worker_id=self.worker_id)
