"""Work the runner hands the worker: connection checks and extractions, each in its own task
under a lease.

``run_once`` claims what the worker has room for (``runner.check_concurrency``) and returns at
once, so a long discovery never holds up token refreshes in the same loop. While a check runs
its lease is renewed; if renewal finds the lease gone (another worker took the check after this
one stalled), the check is abandoned here.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

from lockstitch.context import Context
from lockstitch.kit.logging import get_logger
from lockstitch.kit.time import utcnow
from lockstitch.runner.checks import CheckRun
from lockstitch.runner.extractions import ExtractionRun
from lockstitch.runner.plugins import Plugins
from lockstitch.runner.repository import CheckRepository, ExtractionRepository
from lockstitch.runner.workspace import sweep_orphans

log = get_logger("lockstitch.runner")


def _sweep_once(ctx: Context, done: list[bool]) -> None:
    """On a worker's first poll: remove workspaces a killed worker left behind."""
    if not done:
        done.append(True)
        swept = sweep_orphans(ctx.settings.home / "tmp")
        if swept:
            log.info("removed workspaces of stopped workers", count=swept)


class RunConnectionChecks:
    name = "runner.checks"

    def __init__(self) -> None:
        self._running: set[asyncio.Task[None]] = set()
        self._plugins: Plugins | None = None  # one per worker: concurrent checks share its locks
        self._swept: list[bool] = []

    async def run_once(self, ctx: Context, worker_id: str) -> bool:
        _sweep_once(ctx, self._swept)
        room = ctx.settings.runner.check_concurrency - len(self._running)
        if room <= 0:
            return False
        now = utcnow()
        async with ctx.db.read() as session:
            if not await CheckRepository(session).any_claimable(now):
                return False
        async with ctx.db.unit_of_work() as session:
            ids = await CheckRepository(session).claim_source_checks(
                worker_id, now, _lease_until(ctx, now), room
            )
        if ids and self._plugins is None:
            self._plugins = Plugins.from_settings(ctx.settings)
        for check_id in ids:
            assert self._plugins is not None
            task = asyncio.create_task(_run_leased(ctx, worker_id, check_id, self._plugins))
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        return bool(ids)

    @property
    def busy(self) -> bool:
        return bool(self._running)

    async def wait(self) -> None:
        """Until one of the running checks ends (or at once when none runs)."""
        if self._running:
            await asyncio.wait(set(self._running), return_when=asyncio.FIRST_COMPLETED)

    async def close(self) -> None:
        """Stop running checks (their processes are killed); their leases lapse and another
        worker runs them again."""
        for task in self._running:
            task.cancel()
        for task in list(self._running):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def _lease_until(ctx: Context, now: dt.datetime) -> dt.datetime:
    return now + dt.timedelta(seconds=ctx.settings.runner.lease_seconds)


async def _under_lease(work: asyncio.Task[Any], beat: float, renew: Callable[[], Awaitable[bool]]) -> None:
    """Await ``work``, renewing its lease every ``beat`` seconds; stop it when ``renew`` says the
    lease is gone (another worker has the job now). Cancelling this stops the work first.
    The work's own exception propagates to the caller."""
    try:
        while not work.done():
            done, _ = await asyncio.wait({work}, timeout=beat)
            if not done and not await renew():
                work.cancel()
        await work
    except asyncio.CancelledError:
        work.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await work
        raise


async def _run_leased(ctx: Context, worker_id: str, check_id: int, plugins: Plugins) -> None:
    async with ctx.db.read() as session:
        found = await CheckRepository(session).get_with_source(check_id)
    if found is None:
        return
    check, source = found

    async def renew() -> bool:
        async with ctx.db.unit_of_work() as session:
            kept = await CheckRepository(session).renew(check_id, worker_id, _lease_until(ctx, utcnow()))
        if not kept:
            log.warning("connection check lease lost; abandoning it here", check=check.name)
        return kept

    work = asyncio.create_task(CheckRun(ctx, worker_id, check, source, plugins).run())
    try:
        await _under_lease(work, ctx.settings.runner.lease_seconds / 3, renew)
    except Exception as exc:
        # A bug must not leave the check running (it would be retried forever): end it failed.
        log.exception("connection check crashed", check=check.name)
        async with ctx.db.unit_of_work() as session:
            await CheckRepository(session).finish(
                check_id,
                worker_id,
                {
                    "state": "failed",
                    "completion_time": utcnow(),
                    "check_exit_status": 1,
                    "discovery_error_message": (
                        f"the check could not run ({type(exc).__name__}); see the worker's log"
                    ),
                },
            )


class RunExtractions:
    """Extractions, each in its own task under a lease (``runner.extraction_concurrency`` at
    once). The lease is renewed every few seconds; the same round trip reads whether a
    ``DELETE .../sync`` asked to stop the run."""

    name = "runner.extractions"

    def __init__(self) -> None:
        self._running: set[asyncio.Task[None]] = set()
        self._plugins: Plugins | None = None
        self._swept: list[bool] = []

    @property
    def busy(self) -> bool:
        return bool(self._running)

    async def wait(self) -> None:
        if self._running:
            await asyncio.wait(set(self._running), return_when=asyncio.FIRST_COMPLETED)

    async def run_once(self, ctx: Context, worker_id: str) -> bool:
        _sweep_once(ctx, self._swept)
        now = utcnow()
        async with ctx.db.read() as session:
            if not await ExtractionRepository(session).any_due(now):
                return False
        async with ctx.db.unit_of_work() as session:
            repo = ExtractionRepository(session)
            for job in await repo.fail_lapsed(now):
                log.warning("extraction failed: its worker stopped", job=job)
            room = ctx.settings.runner.extraction_concurrency - len(self._running)
            ids = await repo.claim(worker_id, now, _lease_until(ctx, now), room) if room > 0 else []
        if ids and self._plugins is None:
            self._plugins = Plugins.from_settings(ctx.settings)
        for extraction_id in ids:
            assert self._plugins is not None
            task = asyncio.create_task(_extract_leased(ctx, worker_id, extraction_id, self._plugins))
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        return bool(ids)

    async def close(self) -> None:
        """Stop running extractions: their processes are killed and, with the lease no longer
        renewed, the next worker records them as failed."""
        for task in self._running:
            task.cancel()
        for task in list(self._running):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


# How often a running extraction renews its lease and looks for a cancel request.
_HEARTBEAT_SECONDS = 1.0


async def _extract_leased(ctx: Context, worker_id: str, extraction_id: int, plugins: Plugins) -> None:
    async with ctx.db.read() as session:
        extraction = await ExtractionRepository(session).get(extraction_id)
    if extraction is None:
        return
    run = ExtractionRun(ctx, worker_id, extraction, plugins)

    async def renew() -> bool:
        async with ctx.db.unit_of_work() as session:
            ours, cancel = await ExtractionRepository(session).renew(
                extraction_id, worker_id, _lease_until(ctx, utcnow())
            )
        if not ours:
            log.warning("extraction lease lost; abandoning it here", job=extraction.job_name)
        elif cancel:
            run.cancelled.set()
        return ours

    work = asyncio.create_task(run.run())
    try:
        await _under_lease(work, min(_HEARTBEAT_SECONDS, ctx.settings.runner.lease_seconds / 3), renew)
    except Exception as exc:
        # A bug must not leave the job running until its lease lapses: end it failed, with a log.
        log.exception("extraction crashed", job=extraction.job_name)
        async with ctx.db.unit_of_work() as session:
            await ExtractionRepository(session).fail(
                extraction_id,
                worker_id,
                f"the extraction could not run ({type(exc).__name__}); see the worker's log",
            )
