"""The scheduler against a real database (both backends), driven by a clock the tests advance.

Sources are written straight into the tables, fully configured the way the streams domain leaves
them (a succeeded connection check, ``selection_complete``, ``fully_configured_at``), so that
their timestamps can sit on the fake clock's timeline. Extractions the scheduler queues are
completed by hand ("a run that took no time") unless a test wants one left running.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select, update

from lockstitch.context import Context
from lockstitch.jobs.queue import enqueue_extraction
from lockstitch.jobs.schedule import schedule_inputs, schedule_json
from lockstitch.jobs.scheduler import ScheduleExtractions, due_fire
from lockstitch.kit.time import parse_timestamp, to_wire, utcnow
from lockstitch.models import ConnectionCheck, Extraction, Source
from lockstitch.models.extraction import ACTIVE
from tests.conftest import AccountHandle, MakeContext

UTC = dt.UTC
TYPE = "platform.hp-postgres"
_names = itertools.count(1)


def t(text: str) -> dt.datetime:
    """``"2024-06-03 12:00"`` -> an aware UTC datetime."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


async def make_source(
    ctx: Context,
    who: AccountHandle,
    configured_at: dt.datetime,
    check_state: str = "succeeded",
    **changes: Any,
) -> int:
    """A fully configured hp-postgres source, hourly unless ``properties`` says otherwise."""
    # A complete form (its report card must read fully_configured, as the API checks).
    properties = {
        "host": "db.example.com",
        "port": "5432",
        "user": "replicator",
        "dbname": "app",
        "image_version": "1.latest",
        "frequency_in_minutes": "60",
    }
    properties.update(changes.pop("properties", {}))
    name = f"warehouse_{next(_names)}"
    columns: dict[str, Any] = {
        "selection_complete": True,
        "fully_configured_at": configured_at,
        "created_at": configured_at,
        "updated_at": configured_at,
    }
    columns.update(changes)
    async with ctx.db.unit_of_work() as session:
        source = Source(
            account_id=who.id,
            type=TYPE,
            name=name,
            display_name=name,
            properties={k: v for k, v in properties.items() if v is not None},
            credentials={"password": "never-unsealed-here"},
            **columns,
        )
        session.add(source)
        await session.flush()
        check = f"{who.id}.{source.id}.check.{name}"
        session.add(
            ConnectionCheck(
                account_id=who.id,
                source_id=source.id,
                name=check,
                state=check_state,
                created_at=configured_at,
                start_time=configured_at,
                completion_time=configured_at,
                check_exit_status=0 if check_state == "succeeded" else 1,
                discovery_exit_status=0 if check_state == "succeeded" else None,
            )
        )
        source.check_job_name = check
        return source.id


async def change(ctx: Context, source_id: int, at: dt.datetime, **values: Any) -> None:
    """A write to the source as the API makes it: ``updated_at`` moves to ``at``."""
    async with ctx.db.unit_of_work() as session:
        source = await session.get(Source, source_id)
        assert source is not None
        if "properties" in values:
            values["properties"] = {**source.properties, **values["properties"]}
        for key, value in {**values, "updated_at": at}.items():
            setattr(source, key, value)


async def load(ctx: Context, source_id: int) -> Source:
    async with ctx.db.read() as session:
        source = await session.get(Source, source_id)
        assert source is not None
        return source


async def extractions(ctx: Context, source_id: int | None = None) -> list[Extraction]:
    async with ctx.db.read() as session:
        query = select(Extraction).order_by(Extraction.id)
        if source_id is not None:
            query = query.where(Extraction.source_id == source_id)
        return list((await session.scalars(query)).all())


async def finish_runs(ctx: Context, at: dt.datetime) -> None:
    async with ctx.db.unit_of_work() as session:
        await session.execute(
            update(Extraction)
            .where(Extraction.state.in_(ACTIVE))
            .values(state="succeeded", completion_time=at)
        )


def shown(ctx: Context, source: Source, now: dt.datetime) -> str | None:
    """``schedule.next_fire_time`` as the API shows it at ``now``."""
    schedule = schedule_json(schedule_inputs(source, ctx.catalog.source_type(source.type)), now)
    return None if schedule is None else str(schedule["next_fire_time"])


async def drive(
    ctx: Context,
    scheduler: ScheduleExtractions,
    clock: Clock,
    start: dt.datetime,
    end: dt.datetime,
    step: dt.timedelta = dt.timedelta(minutes=1),
) -> list[dt.datetime]:
    """Run the scheduler at every ``step`` from ``start`` to ``end`` (inclusive); the moments at
    which it queued something. Each queued run completes at once."""
    fired: list[dt.datetime] = []
    clock.now = start
    while clock.now <= end:
        if await scheduler.run_once(ctx, "worker-1"):
            fired.append(clock.now)
            await finish_runs(ctx, clock.now)
        clock.now += step
    return fired


@pytest.fixture
def clock() -> Clock:
    return Clock(t("2024-06-03 10:00"))


@pytest.fixture
def scheduler(clock: Clock) -> ScheduleExtractions:
    return ScheduleExtractions(clock=clock)


# --- intervals, anchors, cron ------------------------------------------------------------------


@pytest.mark.parametrize("minutes", [30, 60])
async def test_interval_fires_once_at_each_slot(
    ctx: Context, account: AccountHandle, clock: Clock, scheduler: ScheduleExtractions, minutes: int
) -> None:
    start = t("2024-06-03 10:00")
    source_id = await make_source(ctx, account, start, properties={"frequency_in_minutes": str(minutes)})
    period = dt.timedelta(minutes=minutes)

    clock.now = start + period - dt.timedelta(seconds=1)
    assert await scheduler.run_once(ctx, "w") is False
    clock.now = start + period
    assert await scheduler.run_once(ctx, "w") is True
    assert await scheduler.run_once(ctx, "w") is False  # the same fire, asked again
    [run] = await extractions(ctx, source_id)
    assert (run.trigger, run.state, run.created_at) == ("schedule", "pending", start + period)
    assert (await load(ctx, source_id)).schedule_fired_at == start + period
    await finish_runs(ctx, clock.now)

    fired = await drive(ctx, scheduler, clock, start + period, start + 4 * period)
    assert fired == [start + 2 * period, start + 3 * period, start + 4 * period]
    runs = await extractions(ctx, source_id)
    assert [r.created_at for r in runs] == [start + k * period for k in (1, 2, 3, 4)]
    assert {r.trigger for r in runs} == {"schedule"}


async def test_a_pending_or_running_extraction_makes_the_fire_skip(
    ctx: Context, account: AccountHandle, clock: Clock, scheduler: ScheduleExtractions
) -> None:
    start = t("2024-06-03 10:00")
    source_id = await make_source(ctx, account, start, properties={"frequency_in_minutes": "30"})
    async with ctx.db.unit_of_work() as session:
        source = await session.get(Source, source_id)
        assert source is not None
        await enqueue_extraction(session, source, "manual", start + dt.timedelta(minutes=20))

    clock.now = t("2024-06-03 10:30")
    assert await scheduler.run_once(ctx, "w") is False
    assert [r.trigger for r in await extractions(ctx, source_id)] == ["manual"]
    assert (await load(ctx, source_id)).schedule_fired_at == clock.now  # skipped, still marked

    # The manual run ends at 10:41: the skipped 10:30 fire is not made up; 11:00 fires.
    await finish_runs(ctx, t("2024-06-03 10:41"))
    fired = await drive(ctx, scheduler, clock, t("2024-06-03 10:31"), t("2024-06-03 11:10"))
    assert fired == [t("2024-06-03 11:00")]
    assert [r.trigger for r in await extractions(ctx, source_id)] == ["manual", "schedule"]


async def test_anchor_time_pins_interval_fires(
    ctx: Context, account: AccountHandle, clock: Clock, scheduler: ScheduleExtractions
) -> None:
    properties = {"frequency_in_minutes": "60", "anchor_time": "2024-01-01T00:15:00Z"}
    source_id = await make_source(ctx, account, t("2024-06-03 10:07:31"), properties=properties)
    fired = await drive(ctx, scheduler, clock, t("2024-06-03 10:08"), t("2024-06-03 13:14"))
    assert fired == [t("2024-06-03 10:15"), t("2024-06-03 11:15"), t("2024-06-03 12:15")]
    assert len(await extractions(ctx, source_id)) == 3


async def test_quartz_cron_wins_over_the_interval(
    ctx: Context, account: AccountHandle, clock: Clock, scheduler: ScheduleExtractions
) -> None:
    properties = {"frequency_in_minutes": "60", "cron_expression": "0 0/15 * * * ?"}
    await make_source(ctx, account, t("2024-06-03 10:07"), properties=properties)
    fired = await drive(ctx, scheduler, clock, t("2024-06-03 10:07"), t("2024-06-03 11:14"))
    assert fired == [t(f"2024-06-03 {hm}") for hm in ("10:15", "10:30", "10:45", "11:00")]


async def test_quartz_weekday_cron_skips_the_weekend(
    ctx: Context, account: AccountHandle, clock: Clock, scheduler: ScheduleExtractions
) -> None:
    # Thursday 13:00 -> Friday noon, then nothing on Saturday and Sunday, then Monday noon.
    properties = {"cron_expression": "0 0 12 ? * MON-FRI *"}
    await make_source(ctx, account, t("2024-06-06 13:00"), properties=properties)
    fired = await drive(
        ctx, scheduler, clock, t("2024-06-06 13:00"), t("2024-06-11 11:00"), dt.timedelta(minutes=30)
    )
    assert fired == [t("2024-06-07 12:00"), t("2024-06-10 12:00")]


async def test_missed_fires_collapse_into_one_run(
    ctx: Context, account: AccountHandle, clock: Clock, scheduler: ScheduleExtractions
) -> None:
    start = t("2024-06-03 10:00")
    source_id = await make_source(ctx, account, start, properties={"frequency_in_minutes": "30"})
    # The worker was down from 10:00 to 12:40: five fires (10:30 ... 12:30) were missed.
    clock.now = t("2024-06-03 12:40")
    assert await scheduler.run_once(ctx, "w") is True
    assert await scheduler.run_once(ctx, "w") is False
    [run] = await extractions(ctx, source_id)
    assert run.created_at == clock.now
    source = await load(ctx, source_id)
    # What the API shows now is the scheduler's next fire: the first slot after now.
    assert shown(ctx, source, clock.now) == "2024-06-03T13:00:00Z"
    await finish_runs(ctx, clock.now)
    fired = await drive(ctx, scheduler, clock, t("2024-06-03 12:41"), t("2024-06-03 13:30"))
    assert fired == [t("2024-06-03 13:00"), t("2024-06-03 13:30")]


# --- sources that must not fire -----------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"deleted_at": t("2024-06-03 10:10")},
        {"system_paused_at": t("2024-06-03 10:10"), "system_pause_reason": "credentials"},
        {"paused_at": t("2024-06-03 10:10")},
        {"paused_at": t("2030-01-01 00:00")},  # any paused_at pauses at once, even a future one
        {"check_state": "failed"},
        {"check_state": "running"},
        {"selection_complete": False},
        {"fully_configured_at": None},
    ],
    ids=[
        "deleted",
        "system_paused",
        "paused",
        "paused_in_future",
        "check_failed",
        "check_running",
        "selection_incomplete",
        "never_configured",
    ],
)
async def test_sources_that_are_not_schedulable_never_fire(
    ctx: Context,
    account: AccountHandle,
    clock: Clock,
    scheduler: ScheduleExtractions,
    changes: dict[str, Any],
) -> None:
    start = t("2024-06-03 10:00")
    other = await make_source(ctx, account, start, properties={"frequency_in_minutes": "30"})
    source_id = await make_source(ctx, account, start, properties={"frequency_in_minutes": "30"}, **changes)
    fired = await drive(ctx, scheduler, clock, start, t("2024-06-03 13:00"), dt.timedelta(minutes=10))
    assert len(fired) == 6  # the healthy source's fires, 10:30 ... 13:00
    assert await extractions(ctx, source_id) == []
    assert len(await extractions(ctx, other)) == 6
    assert (await load(ctx, source_id)).schedule_fired_at is None  # not even touched


async def test_a_source_deleted_after_it_became_due_does_not_fire(
    ctx: Context, account: AccountHandle, clock: Clock, scheduler: ScheduleExtractions
) -> None:
    source_id = await make_source(ctx, account, t("2024-06-03 10:00"))
    clock.now = t("2024-06-03 10:59")
    assert await scheduler.run_once(ctx, "w") is False  # its next fire (11:00) is now cached
    await change(ctx, source_id, t("2024-06-03 10:59:30"), deleted_at=t("2024-06-03 10:59:30"))
    clock.now = t("2024-06-03 11:00")
    assert await scheduler.run_once(ctx, "w") is False
    assert await extractions(ctx, source_id) == []


# --- pause, unpause and other writes ------------------------------------------------------------


@pytest.mark.parametrize("worker_ran_during_pause", [True, False])
async def test_unpause_fires_at_the_next_slot_without_catch_up(
    ctx: Context,
    account: AccountHandle,
    clock: Clock,
    scheduler: ScheduleExtractions,
    worker_ran_during_pause: bool,
) -> None:
    start = t("2024-06-03 10:00")
    source_id = await make_source(ctx, account, start, properties={"frequency_in_minutes": "30"})
    assert await drive(ctx, scheduler, clock, start, t("2024-06-03 10:40")) == [t("2024-06-03 10:30")]

    await change(ctx, source_id, t("2024-06-03 10:40"), paused_at=t("2024-06-03 10:40"))
    assert shown(ctx, await load(ctx, source_id), t("2024-06-03 10:41")) is None
    if worker_ran_during_pause:  # 11:00, 11:30 and 12:00 pass while paused
        assert await drive(ctx, scheduler, clock, t("2024-06-03 10:41"), t("2024-06-03 12:10")) == []

    unpaused = t("2024-06-03 12:10")
    await change(ctx, source_id, unpaused, paused_at=None)
    assert shown(ctx, await load(ctx, source_id), unpaused) == "2024-06-03T12:30:00Z"
    fired = await drive(ctx, scheduler, clock, unpaused, t("2024-06-03 13:10"))
    assert fired == [t("2024-06-03 12:30"), t("2024-06-03 13:00")]
    assert len(await extractions(ctx, source_id)) == 3


async def test_unpause_through_the_api_keeps_the_next_fire_it_shows(
    ctx: Context, account: AccountHandle, client: httpx.AsyncClient
) -> None:
    """The real PUT (real time): the response's next_fire_time is the scheduler's next fire,
    though the slots missed while paused lie between the last fire and the unpause."""
    now = utcnow().replace(microsecond=0)
    source_id = await make_source(
        ctx,
        account,
        now - dt.timedelta(hours=5),
        properties={"frequency_in_minutes": "30"},
        schedule_fired_at=now - dt.timedelta(hours=3),
        paused_at=now - dt.timedelta(hours=3),
        updated_at=now - dt.timedelta(hours=3),
    )
    response = await client.put(f"/v4/sources/{source_id}", headers=account.headers, json={"paused_at": None})
    assert response.status_code == 200, response.text
    body = response.json()
    next_fire = parse_timestamp(body["schedule"]["next_fire_time"])
    # The unpause's second (the wire truncates it): the next fire is always later than that.
    clock = Clock(parse_timestamp(body["updated_at"]))
    scheduler = ScheduleExtractions(clock=clock)
    assert clock.now < next_fire
    assert await scheduler.run_once(ctx, "w") is False  # no catch-up for the paused hours
    clock.now = next_fire
    assert await scheduler.run_once(ctx, "w") is True
    [run] = await extractions(ctx, source_id)
    assert run.created_at == next_fire


async def test_system_pause_and_reauthorization(
    ctx: Context, account: AccountHandle, clock: Clock, scheduler: ScheduleExtractions
) -> None:
    start = t("2024-06-03 10:00")
    source_id = await make_source(ctx, account, start, properties={"frequency_in_minutes": "30"})
    await change(
        ctx,
        source_id,
        t("2024-06-03 10:20"),
        system_paused_at=t("2024-06-03 10:20"),
        system_pause_reason="credentials",
    )
    assert await drive(ctx, scheduler, clock, start, t("2024-06-03 11:50")) == []
    await change(ctx, source_id, t("2024-06-03 11:50"), system_paused_at=None, system_pause_reason=None)
    fired = await drive(ctx, scheduler, clock, t("2024-06-03 11:50"), t("2024-06-03 12:30"))
    assert fired == [t("2024-06-03 12:00"), t("2024-06-03 12:30")]


async def test_a_schedule_edit_is_seen_and_restarts_the_schedule(
    ctx: Context, account: AccountHandle, clock: Clock, scheduler: ScheduleExtractions
) -> None:
    start = t("2024-06-03 10:00")
    source_id = await make_source(ctx, account, start)  # hourly: next 11:00
    clock.now = t("2024-06-03 10:20")
    assert await scheduler.run_once(ctx, "w") is False
    # At 10:25 the partner switches to every five minutes: the slots 10:05 ... 10:25 passed
    # before the edit and are not run; the PUT's response showed 10:30, and 10:30 it is.
    edited = t("2024-06-03 10:25")
    await change(ctx, source_id, edited, properties={"cron_expression": "0 0/5 * * * ?"})
    assert shown(ctx, await load(ctx, source_id), edited) == "2024-06-03T10:30:00Z"
    fired = await drive(ctx, scheduler, clock, edited, t("2024-06-03 10:40"))
    assert fired == [t("2024-06-03 10:30"), t("2024-06-03 10:35"), t("2024-06-03 10:40")]


# --- the API's next_fire_time is what the scheduler does ----------------------------------------


@pytest.mark.parametrize(
    ("configured_at", "properties"),
    [
        # A fractional fully_configured_at: interval fires stay on whole seconds.
        ("2024-06-03 10:00:07.700000", {"frequency_in_minutes": "30"}),
        ("2024-06-03 10:03", {"frequency_in_minutes": "45", "anchor_time": "2024-06-01T08:10:00Z"}),
        ("2024-06-03 10:03", {"cron_expression": "0 7/20 * * * ?"}),
        ("2024-06-03 10:03", {"frequency_in_minutes": None}),  # the type's default interval
    ],
    ids=["interval", "anchor", "cron", "default"],
)
async def test_the_shown_next_fire_time_is_what_the_scheduler_does(
    ctx: Context,
    account: AccountHandle,
    clock: Clock,
    scheduler: ScheduleExtractions,
    configured_at: str,
    properties: dict[str, Any],
) -> None:
    source_id = await make_source(ctx, account, t(configured_at), properties=properties)
    source = await load(ctx, source_id)
    clock.now = source.updated_at
    promised = shown(ctx, source, clock.now)
    assert promised is not None
    fires = 0
    # Every 97 seconds for four hours: the scheduler must act exactly when the API said it would
    # (to the polling step), and afterwards the API must show the scheduler's next fire.
    end = clock.now + dt.timedelta(hours=4)
    while clock.now < end:
        clock.now += dt.timedelta(seconds=97)
        before = len(await extractions(ctx, source_id))
        queued = await scheduler.run_once(ctx, "w")
        due = parse_timestamp(promised) <= clock.now
        assert queued is due, (to_wire(clock.now), promised)
        if queued:
            fires += 1
            assert len(await extractions(ctx, source_id)) == before + 1
            await finish_runs(ctx, clock.now)
        source = await load(ctx, source_id)
        promised = shown(ctx, source, clock.now)
        assert promised is not None
        fire = due_fire(source, ctx.catalog.source_type(source.type))
        assert fire is not None
        assert to_wire(fire) == promised  # the API's next fire is the scheduler's
    assert fires >= 4


# --- several workers, batches, broken rows ------------------------------------------------------


async def test_two_schedulers_queue_one_run_per_fire(
    make_ctx: MakeContext, account: AccountHandle, ctx: Context, clock: Clock
) -> None:
    other = make_ctx()
    start = t("2024-06-03 10:00")
    ids = [
        await make_source(ctx, account, start, properties={"frequency_in_minutes": "30"}) for _ in range(12)
    ]
    # Two workers (two processes' worth: separate engines and pools), two schedulers each.
    schedulers = [(ScheduleExtractions(clock=clock), context) for context in (ctx, other, ctx, other)]
    slots = [start + dt.timedelta(minutes=30 * k) for k in (1, 2, 3)]
    for slot in slots:
        clock.now = slot
        for _ in range(3):  # the same fire, raced three times
            results = await asyncio.gather(*(s.run_once(c, f"w{i}") for i, (s, c) in enumerate(schedulers)))
            assert all(isinstance(r, bool) for r in results)
        runs = [r for r in await extractions(ctx) if r.created_at == slot]
        assert sorted(r.source_id for r in runs) == ids  # exactly one per source for this fire
        await finish_runs(ctx, slot)
    assert len(await extractions(ctx)) == len(ids) * len(slots)


async def test_a_fire_is_checked_again_under_the_row_lock(
    make_ctx: MakeContext, account: AccountHandle, ctx: Context, clock: Clock
) -> None:
    """Both schedulers see the 10:30 fire due; the first fires it and the run even completes
    before the second takes the row: the second finds the fire marked and queues nothing."""
    other = make_ctx()
    first, second = ScheduleExtractions(clock=clock), ScheduleExtractions(clock=clock)
    source_id = await make_source(
        ctx, account, t("2024-06-03 10:00"), properties={"frequency_in_minutes": "30"}
    )
    paused_id = await make_source(
        ctx, account, t("2024-06-03 10:00"), properties={"frequency_in_minutes": "30"}
    )
    clock.now = t("2024-06-03 10:30")
    assert await first.due_sources(ctx, clock.now) == [source_id, paused_id]
    assert await second.due_sources(other, clock.now) == [source_id, paused_id]

    assert await first.fire(ctx, source_id, clock.now) is True
    await finish_runs(ctx, clock.now)
    assert await second.fire(other, source_id, clock.now) is False
    assert len(await extractions(ctx, source_id)) == 1

    # Paused between the scan and the lock: not fired, not marked.
    await change(ctx, paused_id, clock.now, paused_at=clock.now)
    assert await second.fire(other, paused_id, clock.now) is False
    assert await extractions(ctx, paused_id) == []
    assert (await load(ctx, paused_id)).schedule_fired_at is None


async def test_between_scans_nothing_is_read_and_changes_arrive_with_the_next_scan(
    ctx: Context, account: AccountHandle, clock: Clock
) -> None:
    scheduler = ScheduleExtractions(clock=clock, rescan_seconds=10)
    await make_source(ctx, account, t("2024-06-03 09:00"))  # hourly: 10:00, 11:00
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    for engine in {ctx.db.engine, ctx.db.read_engine}:
        event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        clock.now = t("2024-06-03 10:00:00")
        assert await scheduler.run_once(ctx, "w") is True  # scan, fire
        statements.clear()
        for second in range(1, 10):  # polled every second until the next scan: no query
            clock.now = t("2024-06-03 10:00:00") + dt.timedelta(seconds=second)
            assert await scheduler.run_once(ctx, "w") is False
        assert statements == []
    finally:
        for engine in {ctx.db.engine, ctx.db.read_engine}:
            event.remove(engine.sync_engine, "before_cursor_execute", count)

    # A source configured at 10:00:05 with a fire at 10:00:08 is seen by the 10:00:10 scan.
    properties = {"cron_expression": "8 0 10 * * ?"}
    late = await make_source(ctx, account, t("2024-06-03 10:00:05"), properties=properties)
    clock.now = t("2024-06-03 10:00:09")
    assert await scheduler.run_once(ctx, "w") is False
    clock.now = t("2024-06-03 10:00:10")
    assert await scheduler.run_once(ctx, "w") is True
    [run] = await extractions(ctx, late)
    assert run.created_at == clock.now


async def test_due_sources_are_fired_in_batches(ctx: Context, account: AccountHandle, clock: Clock) -> None:
    scheduler = ScheduleExtractions(clock=clock, batch_size=3)
    for _ in range(7):
        await make_source(ctx, account, t("2024-06-03 10:00"))
    clock.now = t("2024-06-03 11:00")
    results = [await scheduler.run_once(ctx, "w") for _ in range(4)]
    assert results == [True, True, True, False]
    assert len(await extractions(ctx)) == 7


async def test_a_schedule_that_cannot_be_computed_does_not_stop_the_others(
    ctx: Context, account: AccountHandle, clock: Clock, scheduler: ScheduleExtractions
) -> None:
    start = t("2024-06-03 10:00")
    broken = [
        await make_source(ctx, account, start, properties={"cron_expression": "not a cron"}),
        await make_source(ctx, account, start, properties={"frequency_in_minutes": "often"}),
        await make_source(ctx, account, start, properties={"frequency_in_minutes": "0"}),
        await make_source(ctx, account, start, properties={"anchor_time": "yesterday"}),
    ]
    healthy = await make_source(ctx, account, start)
    assert await drive(ctx, scheduler, clock, start, t("2024-06-03 12:00"), dt.timedelta(minutes=15)) == [
        t("2024-06-03 11:00"),
        t("2024-06-03 12:00"),
    ]
    assert {r.source_id for r in await extractions(ctx)} == {healthy}
    for source_id in broken:
        assert (await load(ctx, source_id)).schedule_fired_at is None
