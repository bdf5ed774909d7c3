"""Work the runner hands the worker: connection checks and extractions, each a
``jobs.leased_runner.LeasedRunner`` (each item in its own task, under a lease renewed while it
runs, abandoned here when renewal finds the lease gone).

``runner.check_concurrency`` checks and ``runner.extraction_concurrency`` extractions run at
once. A check whose lease lapsed is run again by the next worker; an extraction whose lease
lapsed is recorded as failed (``jobs.extractions_repository``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Coroutine
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from lockstitch.context import Context
from lockstitch.jobs.check_runner import CheckRunner
from lockstitch.jobs.checks_repository import CheckRepository
from lockstitch.jobs.extractions_repository import ExtractionRepository
from lockstitch.jobs.leased_runner import LeasedRunner
from lockstitch.kit.logging import get_logger
from lockstitch.kit.time import utcnow
from lockstitch.models import CheckState, ConnectionCheck, Source
from lockstitch.runner.checks import CheckRun
from lockstitch.runner.extractions import ExtractionRun
from lockstitch.runner.plugins import Plugins
from lockstitch.runner.workspace import sweep_orphans

log = get_logger("lockstitch.runner")
# How often a running extraction renews its lease and looks for a cancel request.
_HEARTBEAT_SECONDS = 1.0
Item = TypeVar("Item")
CheckItem = tuple[ConnectionCheck, Source]


class _PluginRunner(LeasedRunner[Item]):
    """What both runners share: one ``Plugins`` per worker (concurrent runs share its locks),
    and on the first poll the sweep of workspaces a killed worker left behind."""

    def __init__(self) -> None:
        super().__init__()
        self._plugins: Plugins | None = None
        self._swept = False

    def on_poll(self, ctx: Context) -> None:
        if not self._swept:
            self._swept = True
            swept = sweep_orphans(ctx.settings.home / "tmp")
            if swept:
                log.info("removed workspaces of stopped workers", count=swept)

    def plugins(self, ctx: Context) -> Plugins:
        if self._plugins is None:
            self._plugins = Plugins.from_settings(ctx.settings)
        return self._plugins


class RunConnectionChecks(CheckRunner[Source], _PluginRunner[CheckItem]):
    """Source connection checks (discovery), claimed from ``connection_checks``."""

    name = "runner.checks"
    subject = "source"
    model = Source
    noun = "connection check"

    def concurrency(self, ctx: Context) -> int:
        return ctx.settings.runner.check_concurrency

    def work(self, ctx: Context, worker_id: str, item: CheckItem) -> Coroutine[Any, Any, object]:
        check, source = item
        return CheckRun(ctx, worker_id, check, source, self.plugins(ctx)).run()

    async def crashed(self, ctx: Context, worker_id: str, item: CheckItem, exc: Exception) -> None:
        # A bug must not leave the check running (it would be retried forever): end it failed.
        message = f"the check could not run ({type(exc).__name__}); see the worker's log"
        values = {
            "state": CheckState.FAILED,
            "completion_time": utcnow(),
            "check_exit_status": 1,
            "discovery_error_message": message,
        }
        async with ctx.db.unit_of_work() as session:
            await CheckRepository(session).finish(item[0].id, worker_id, values)

    def describe(self, item: CheckItem) -> dict[str, Any]:
        return {"check": item[0].name}


class RunExtractions(_PluginRunner[ExtractionRun]):
    """Extractions (``runner.extraction_concurrency`` at once). The lease is renewed every few
    seconds; the same round trip reads whether a ``DELETE .../sync`` asked to stop the run.
    Lapsed extractions are recorded as failed on every poll, with or without room to claim."""

    name = "runner.extractions"
    noun = "extraction"
    recovers = True

    def concurrency(self, ctx: Context) -> int:
        return ctx.settings.runner.extraction_concurrency

    def beat(self, ctx: Context) -> float:
        return min(_HEARTBEAT_SECONDS, super().beat(ctx))

    async def any_due(self, session: AsyncSession, now: dt.datetime) -> bool:
        return await ExtractionRepository(session).any_due(now)

    async def recover(self, session: AsyncSession, now: dt.datetime) -> None:
        for job in await ExtractionRepository(session).fail_lapsed(now):
            log.warning("extraction failed: its worker stopped", job=job)

    async def claim(
        self, session: AsyncSession, worker_id: str, now: dt.datetime, until: dt.datetime, room: int
    ) -> list[int]:
        return await ExtractionRepository(session).claim(worker_id, now, until, room)

    async def load(self, ctx: Context, worker_id: str, item_id: int) -> ExtractionRun | None:
        async with ctx.db.read() as session:
            extraction = await ExtractionRepository(session).get(item_id)
        return ExtractionRun(ctx, worker_id, extraction, self.plugins(ctx)) if extraction else None

    def work(self, ctx: Context, worker_id: str, item: ExtractionRun) -> Coroutine[Any, Any, object]:
        return item.run()

    async def renew(
        self, session: AsyncSession, worker_id: str, item: ExtractionRun, until: dt.datetime
    ) -> bool:
        ours, cancel = await ExtractionRepository(session).renew(item.extraction.id, worker_id, until)
        if ours and cancel:
            item.cancelled.set()
        return ours

    async def crashed(self, ctx: Context, worker_id: str, item: ExtractionRun, exc: Exception) -> None:
        # A bug must not leave the job running until its lease lapses: end it failed, with a log.
        reason = f"the extraction could not run ({type(exc).__name__}); see the worker's log"
        async with ctx.db.unit_of_work() as session:
            await ExtractionRepository(session).fail(item.extraction.id, worker_id, reason)

    def describe(self, item: ExtractionRun) -> dict[str, Any]:
        return {"job": item.extraction.job_name}
