"""The scheduler: queue an extraction when a fully configured source's schedule fires.

    every rescan_seconds: scan (one read: a few columns of every schedulable source)
      -> per-worker cache of due fires, recomputed only for rows that changed
    every call: due fires from the cache (no query when nothing is due)
      -> per due source, one short unit of work: lock the row, re-check it is still due,
         ``enqueue_extraction(trigger="schedule")``, mark ``schedule_fired_at = now``

Rules:

* **Schedulable**: fully configured (a stream and a field selected, ``fully_configured_at`` set,
  its current connection check succeeded), not deleted, not paused, not system-paused. Other
  sources are neither read past the scan's WHERE clause nor written.
* **Due fire** = ``next_fire_time(inputs, after)`` (``jobs.schedule``: Quartz cron wins over the
  interval; ``anchor_time`` pins interval fires to anchor + k * interval), where ``after`` is the
  latest of ``schedule_fired_at`` (the mark), ``fully_configured_at`` and ``updated_at``. The
  source fires when its due fire is ``<= now``.
* **Missed fires run once**: the mark becomes ``now``, not the fire time, so a scheduler that was
  down for five intervals queues one run and the next fire is the schedule's first after ``now``
  -- the ``schedule.next_fire_time`` the API shows (``schedule_json`` with the same ``now``).
* **One run at a time**: when an extraction is already pending or running (manual or
  scheduled), the fire is skipped and still marked, as Stitch skips a scheduled run while one runs.
* **A write restarts the schedule** (that is what ``updated_at`` in ``after`` does): every write
  that can change a schedule -- ``PUT /v4/sources/{id}`` (properties, pause, unpause), selection
  changes, a system pause or the reauthorization that lifts it -- sets ``updated_at``, and the
  response to that write shows ``next_fire_time`` as the first slot after it. The scheduler keeps
  that promise: a slot that passed before the write and was not acted on yet is not run.
  Hence **pause/unpause**: a paused source is never scanned nor touched; its unpause is a write,
  so it fires at its first slot after the unpause, with no catch-up for slots missed while
  paused -- whether or not any worker ran during the pause. Likewise a new cron expression
  never fires for slots before the edit. The price: a fire that was due but not yet acted on
  when an unrelated write lands (within one poll while workers run) is forgone, and the next
  slot runs instead, as the write's response said.

Cheap to call every second: between scans (every ``rescan_seconds``, 10 by default) the due
fires come from a per-worker cache and no query runs unless something is due; the scan reads
four narrow columns of the schedulable sources and recomputes a source's due fire only when its
``updated_at``, mark or ``fully_configured_at`` changed (every property write moves
``updated_at``). So a change reaches the scheduler within ``rescan_seconds``, and a cached fire
that a change has made wrong is caught by the re-check under the lock. No transaction spans two
sources.

Safe with several workers: the row lock (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite's
writers take turns), the re-check of the mark inside the lock and the one-active-extraction rule
of ``enqueue_extraction`` let only one scheduler act on a fire; the others find it marked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import NamedTuple

from lockstitch.catalog.source_type import SourceType
from lockstitch.context import Context
from lockstitch.jobs.queue import enqueue_extraction
from lockstitch.jobs.repository import ScheduleRepository, ScheduleRow
from lockstitch.jobs.schedule import next_fire_time, schedule_inputs
from lockstitch.kit.logging import get_logger
from lockstitch.kit.time import utcnow
from lockstitch.models import CheckState, Source

log = get_logger("lockstitch.jobs")

# Sources fired per call; more due ones make run_once return True and the loop call again.
BATCH_SIZE = 200
# How often the scan reads the sources table; in between, due fires come from the cache. A
# change to a source (a new source, an edited schedule) reaches the scheduler within this time.
RESCAN_SECONDS = 10.0

Key = tuple[dt.datetime, dt.datetime | None, dt.datetime | None]


class _Cached(NamedTuple):
    key: Key
    fire: dt.datetime | None  # None: never fires (or a schedule that cannot be computed)


def fires_after(
    updated_at: dt.datetime, schedule_fired_at: dt.datetime | None, fully_configured_at: dt.datetime | None
) -> dt.datetime:
    """The moment up to which a source's fires are done or forgone (see the module's rules)."""
    return max(m for m in (updated_at, schedule_fired_at, fully_configured_at) if m is not None)


def is_schedulable(source: Source, check_state: str | None) -> bool:
    """The scan's WHERE clause (``repository._SCHEDULABLE``) for one locked row."""
    return (
        source.deleted_at is None
        and source.paused_at is None
        and source.system_paused_at is None
        and source.selection_complete
        and source.fully_configured_at is not None
        and check_state == CheckState.SUCCEEDED
    )


def due_fire(source: Source, source_type: SourceType | None) -> dt.datetime | None:
    """The fire the scheduler acts on next (may be in the past), None if it never fires.

    Raises ``ValueError`` (or ``ArithmeticError``) for a schedule that cannot be computed.
    """
    after = fires_after(source.updated_at, source.schedule_fired_at, source.fully_configured_at)
    return next_fire_time(schedule_inputs(source, source_type), after)


def _key(source: Source | ScheduleRow) -> Key:
    return (source.updated_at, source.schedule_fired_at, source.fully_configured_at)


class ScheduleExtractions:
    """Worker job ``jobs.schedule``; ``clock`` is injectable for tests."""

    name = "jobs.schedule"

    def __init__(
        self,
        clock: Callable[[], dt.datetime] = utcnow,
        batch_size: int = BATCH_SIZE,
        rescan_seconds: float = RESCAN_SECONDS,
    ) -> None:
        self.clock = clock
        self.batch_size = batch_size
        self.rescan = dt.timedelta(seconds=rescan_seconds)
        self._cache: dict[int, _Cached] = {}
        self._scanned_at: dt.datetime | None = None

    async def run_once(self, ctx: Context, worker_id: str) -> bool:
        now = self.clock()
        due = await self.due_sources(ctx, now)
        queued = False
        for source_id in due[: self.batch_size]:
            try:
                queued = await self.fire(ctx, source_id, now) or queued
            except Exception:  # one broken source must not hold up the others; the log has it
                log.exception("scheduled fire failed", source_id=source_id, worker_id=worker_id)
        return queued or len(due) > self.batch_size

    async def due_sources(self, ctx: Context, now: dt.datetime) -> list[int]:
        """Ids of schedulable sources whose due fire is ``<= now``, the most overdue first: a
        snapshot (``fire`` checks again under the row lock), from the cache between scans."""
        scanned = self._scanned_at
        if scanned is None or not scanned <= now < scanned + self.rescan:  # (a clock set back too)
            await self.scan(ctx)
            self._scanned_at = now
        due = [
            (c.fire, source_id)
            for source_id, c in self._cache.items()
            if c.fire is not None and c.fire <= now
        ]
        due.sort()
        return [source_id for _, source_id in due]

    async def scan(self, ctx: Context) -> None:
        """Bring the cache up to date: every schedulable source, with its due fire recomputed
        where its row changed since it was cached."""
        async with ctx.db.read() as session:
            repo = ScheduleRepository(session)
            rows = await repo.schedulable()
            changed = [row.id for row in rows if self._stale(row)]
            fetched = await repo.sources(changed) if changed else []
        for source in fetched:
            self._remember(ctx, source)  # may be newer than its scanned row: newer is better
        # Sources that left the scan (deleted, paused, no longer fully configured) are forgotten.
        self._cache = {row.id: self._cache[row.id] for row in rows if row.id in self._cache}

    def _stale(self, row: ScheduleRow) -> bool:
        cached = self._cache.get(row.id)
        return cached is None or cached.key != _key(row)

    def _remember(self, ctx: Context, source: Source) -> dt.datetime | None:
        try:
            fire = due_fire(source, ctx.catalog.source_type(source.type))
        except (ValueError, ArithmeticError) as exc:
            # Validated on input, so only a changed catalogue or a hand-edited row gets here;
            # logged once per change of the row (the result is cached).
            log.warning("source schedule cannot be computed", source_id=source.id, error=str(exc))
            fire = None
        self._cache[source.id] = _Cached(_key(source), fire)
        return fire

    async def fire(self, ctx: Context, source_id: int, now: dt.datetime) -> bool:
        """In one short unit of work: lock the source, and if it is still schedulable and due
        at ``now``, queue a scheduled extraction (unless one is pending or running) and mark the
        fire done. True if an extraction was created."""
        async with ctx.db.unit_of_work() as session:
            locked = await ScheduleRepository(session).lock(source_id)
            if locked is None:
                return False  # gone, or another transaction holds it: the next round decides
            source, check_state = locked
            if not is_schedulable(source, check_state):
                self._cache.pop(source_id, None)
                return False
            fire = self._remember(ctx, source)
            if fire is None or fire > now:
                return False  # another scheduler fired it, or a write moved it
            extraction, created = await enqueue_extraction(session, source, "schedule", now)
            source.schedule_fired_at = now
            self._remember(ctx, source)  # keyed by the new mark: the next scan needs no fetch
        if created:
            log.info("scheduled extraction queued", source_id=source_id, job_name=extraction.job_name)
        else:
            log.info(
                "scheduled fire skipped: an extraction is already pending or running",
                source_id=source_id,
                job_name=extraction.job_name,
            )
        return created
