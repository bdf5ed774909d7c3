"""The one leased runner of the worker: claims items (``jobs.leases``), runs each in its own task
under a lease renewed every beat, and ends a crashed item with a failure.

    read-only look (any due?) -> one short transaction: recover lapsed items, claim up to
    ``room`` -> per item: load -> work  <- renew every beat; lease gone => the work is cancelled
                                      -> crashed => the subclass records a failure

``run_once`` returns as soon as the claimed items have started, so a long discovery or
extraction never holds up token refreshes in the same loop; an ``inline`` runner (cheap items,
such as destination probes) instead returns when its items have ended. ``close()`` cancels the
running items: their leases are no longer renewed and lapse, and the table's rule applies
(``jobs.leases`` rule 4).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from lockstitch.kit.logging import get_logger
from lockstitch.kit.time import utcnow

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from lockstitch.context import Context

log = get_logger("lockstitch.jobs.leased")
Item = TypeVar("Item")


async def under_lease(work: asyncio.Task[Any], beat: float, renew: Callable[[], Awaitable[bool]]) -> None:
    """Await ``work``, renewing its lease every ``beat`` seconds; stop it when ``renew`` says the
    lease is gone (another worker has the item now). Cancelling this stops the work first.
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


class LeasedRunner(ABC, Generic[Item]):
    """A ``worker.loop.Job`` over one leased table. Subclasses say how to find, claim, load,
    run, renew and fail their items; the lease handling is here."""

    name: str
    noun = "item"  # in log lines: "<noun> lease lost", "<noun> crashed"
    inline = False  # True: run_once returns once its items have ended
    recovers = False  # True: recover() runs even when there is no room to claim

    def __init__(self) -> None:
        self._running: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ what a subclass says
    @abstractmethod
    def concurrency(self, ctx: Context) -> int:
        """How many items this worker runs at once."""

    def lease_seconds(self, ctx: Context) -> float:
        return float(ctx.settings.runner.lease_seconds)

    def beat(self, ctx: Context) -> float:
        """How often a running item's lease is renewed: well within the lease."""
        return self.lease_seconds(ctx) / 3

    def on_poll(self, ctx: Context) -> None:
        """Called first on every poll."""

    @abstractmethod
    async def any_due(self, session: AsyncSession, now: dt.datetime) -> bool:
        """Anything to claim or recover (read-only: an idle worker must not take SQLite's
        write lock, which the token refresher needs, just to find nothing)."""

    async def recover(self, session: AsyncSession, now: dt.datetime) -> None:
        """End items whose lease lapsed, when the table's rule is not to claim them again."""

    @abstractmethod
    async def claim(
        self, session: AsyncSession, worker_id: str, now: dt.datetime, until: dt.datetime, room: int
    ) -> list[int]:
        """Take the lease of up to ``room`` items; their ids."""

    @abstractmethod
    async def load(self, ctx: Context, worker_id: str, item_id: int) -> Item | None:
        """What running a claimed item needs (None: it is gone)."""

    @abstractmethod
    def work(self, ctx: Context, worker_id: str, item: Item) -> Coroutine[Any, Any, object]:
        """The item's work, which records its own outcome."""

    @abstractmethod
    async def renew(self, session: AsyncSession, worker_id: str, item: Item, until: dt.datetime) -> bool:
        """Renew the item's lease; False when it is no longer this worker's."""

    @abstractmethod
    async def crashed(self, ctx: Context, worker_id: str, item: Item, exc: Exception) -> None:
        """End an item whose work raised with a failure (a bug must not leave it running)."""

    def describe(self, item: Item) -> dict[str, Any]:
        """Fields naming the item in log lines."""
        return {}

    # ------------------------------------------------------------------------- the lease
    async def run_once(self, ctx: Context, worker_id: str) -> bool:
        self.on_poll(ctx)
        room = self.concurrency(ctx) - len(self._running)
        if room <= 0 and not self.recovers:
            return False
        now = utcnow()
        async with ctx.db.read() as session:
            if not await self.any_due(session, now):
                return False
        until = now + dt.timedelta(seconds=self.lease_seconds(ctx))
        async with ctx.db.unit_of_work() as session:
            await self.recover(session, now)
            ids = await self.claim(session, worker_id, now, until, room) if room > 0 else []
        if self.inline:
            for item_id in ids:
                await self._run_leased(ctx, worker_id, item_id)
            return bool(ids)
        for item_id in ids:
            task = asyncio.create_task(self._run_leased(ctx, worker_id, item_id))
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        return bool(ids)

    async def _run_leased(self, ctx: Context, worker_id: str, item_id: int) -> None:
        item = await self.load(ctx, worker_id, item_id)
        if item is None:
            return

        async def renew() -> bool:
            until = utcnow() + dt.timedelta(seconds=self.lease_seconds(ctx))
            async with ctx.db.unit_of_work() as session:
                kept = await self.renew(session, worker_id, item, until)
            if not kept:
                log.warning(f"{self.noun} lease lost; abandoning it here", **self.describe(item))
            return kept

        work = asyncio.create_task(self.work(ctx, worker_id, item))
        try:
            await under_lease(work, self.beat(ctx), renew)
        except Exception as exc:
            log.exception(f"{self.noun} crashed", **self.describe(item))
            await self.crashed(ctx, worker_id, item, exc)

    @property
    def busy(self) -> bool:
        return bool(self._running)

    async def wait(self) -> None:
        """Until one of the running items ends (or at once when none runs)."""
        if self._running:
            await asyncio.wait(set(self._running), return_when=asyncio.FIRST_COMPLETED)

    async def close(self) -> None:
        """Stop running items (their processes are killed); their leases lapse."""
        for task in self._running:
            task.cancel()
        for task in list(self._running):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
