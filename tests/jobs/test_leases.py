"""The lease rules of ``jobs.leases``, checked directly on both backends.

The work items are bare connection-check rows (no source, no destination): the rules are the
module's, whatever the table, so the rows need nothing but an owner and an expiry.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from sqlalchemy import or_, select

from lockstitch.context import Context
from lockstitch.jobs import leases
from lockstitch.jobs.leases import CONNECTION_CHECKS
from lockstitch.kit.time import utcnow
from lockstitch.models import ConnectionCheck
from tests.conftest import AccountHandle, MakeContext

LEASE = dt.timedelta(seconds=60)


def _claimable(account: AccountHandle, now: dt.datetime) -> list[Any]:
    return [
        ConnectionCheck.account_id == account.id,
        or_(
            ConnectionCheck.state == "pending",
            (ConnectionCheck.state == "running") & CONNECTION_CHECKS.lapsed(now),
        ),
    ]


async def _rows(ctx: Context, account: AccountHandle, count: int) -> list[int]:
    now = utcnow()
    async with ctx.db.unit_of_work() as session:
        rows = [
            ConnectionCheck(
                account_id=account.id, name=f"lease-test-{account.id}-{i}", state="pending", created_at=now
            )
            for i in range(count)
        ]
        session.add_all(rows)
        await session.flush()
        return [row.id for row in rows]


async def _claim(
    ctx: Context, account: AccountHandle, worker: str, limit: int, now: dt.datetime | None = None
) -> list[int]:
    now = now or utcnow()
    async with ctx.db.unit_of_work() as session:
        taken = await leases.claim_due(
            session,
            CONNECTION_CHECKS,
            worker,
            now + LEASE,
            where=_claimable(account, now),
            order_by=[ConnectionCheck.id],
            limit=limit,
            values={"state": "running"},
        )
    return list(taken)


async def _owners(ctx: Context, ids: list[int]) -> dict[int, tuple[str | None, dt.datetime | None]]:
    async with ctx.db.read() as session:
        found = await session.execute(
            select(ConnectionCheck.id, ConnectionCheck.claimed_by, ConnectionCheck.lease_expires_at).where(
                ConnectionCheck.id.in_(ids)
            )
        )
        return {row[0]: (row[1], row[2]) for row in found}


async def test_two_claimers_divide_the_rows_and_none_is_claimed_twice(
    ctx: Context, make_ctx: MakeContext, account: AccountHandle
) -> None:
    """Two processes claiming at once take every row exactly once, each row held by the one
    that got it."""
    ids = await _rows(ctx, account, 7)
    other = make_ctx()  # a second process's engines
    got: dict[str, list[int]] = {"w1": [], "w2": []}
    while True:
        first, second = await asyncio.gather(_claim(ctx, account, "w1", 2), _claim(other, account, "w2", 2))
        if not first and not second:
            break
        got["w1"] += first
        got["w2"] += second
    taken = got["w1"] + got["w2"]
    assert sorted(taken) == sorted(ids)
    assert len(set(taken)) == len(taken)
    owners = await _owners(ctx, ids)
    assert all(owners[i][0] == worker for worker, mine in got.items() for i in mine)


async def test_a_held_row_is_skipped_not_waited_for(
    ctx: Context, make_ctx: MakeContext, account: AccountHandle, backend: str
) -> None:
    """PostgreSQL: while one claimer's transaction holds its rows, another claims the rest at
    once (SKIP LOCKED) instead of queueing behind it. SQLite serialises the two claims."""
    ids = await _rows(ctx, account, 4)
    other = make_ctx()
    if backend != "postgres":
        first = await _claim(ctx, account, "w1", 2)
        second = await _claim(other, account, "w2", 4)
    else:
        now = utcnow()
        async with ctx.db.unit_of_work() as session:
            held = await leases.claim_due(
                session,
                CONNECTION_CHECKS,
                "w1",
                now + LEASE,
                where=_claimable(account, now),
                order_by=[ConnectionCheck.id],
                limit=2,
                values={"state": "running"},
            )
            first = list(held)
            second = await asyncio.wait_for(_claim(other, account, "w2", 4), timeout=30)
    assert len(first) == 2
    assert sorted(first + second) == sorted(ids)


async def test_renew_and_finish_are_refused_once_another_owner_took_the_row(
    ctx: Context, account: AccountHandle
) -> None:
    """A lapsed lease taken over by another worker: the first worker's renew and finish change
    nothing; the new owner's do, and finishing releases the lease."""
    [row] = await _rows(ctx, account, 1)
    start = utcnow()
    assert await _claim(ctx, account, "w1", 1, now=start) == [row]
    later = start + LEASE + dt.timedelta(seconds=1)  # w1 stopped renewing: its lease lapsed
    assert await _claim(ctx, account, "w2", 1, now=later) == [row]
    async with ctx.db.unit_of_work() as session:
        assert await leases.renew(session, CONNECTION_CHECKS, row, "w1", later + LEASE) is None
        assert await leases.finish(session, CONNECTION_CHECKS, row, "w1", {"state": "failed"}) is None
    assert (await _owners(ctx, [row]))[row][0] == "w2"
    async with ctx.db.unit_of_work() as session:
        assert await leases.renew(session, CONNECTION_CHECKS, row, "w2", later + LEASE) == ()
        assert await leases.finish(session, CONNECTION_CHECKS, row, "w2", {"state": "succeeded"}) == ()
    assert (await _owners(ctx, [row]))[row] == (None, None)
    async with ctx.db.unit_of_work() as session:
        # Released: nobody holds it now, not even the worker that finished it.
        assert await leases.renew(session, CONNECTION_CHECKS, row, "w2", later + LEASE) is None
        state = await session.scalar(select(ConnectionCheck.state).where(ConnectionCheck.id == row))
    assert state == "succeeded"


async def test_a_live_lease_is_not_claimable_and_a_lapsed_one_is(
    ctx: Context, account: AccountHandle
) -> None:
    """Claimable again exactly when the lease's end has passed."""
    [row] = await _rows(ctx, account, 1)
    start = utcnow()
    assert await _claim(ctx, account, "w1", 1, now=start) == [row]
    assert await _claim(ctx, account, "w2", 1, now=start + LEASE - dt.timedelta(seconds=1)) == []
    assert await _claim(ctx, account, "w2", 1, now=start + LEASE + dt.timedelta(seconds=1)) == [row]
    assert (await _owners(ctx, [row]))[row][0] == "w2"


async def test_recover_lapsed_ends_only_lapsed_rows_and_releases_them(
    ctx: Context, account: AccountHandle
) -> None:
    """Recovery writes its outcome to lapsed leases only, clearing owner and expiry; a live
    lease is left to its holder."""
    live, lapsing = await _rows(ctx, account, 2)
    start = utcnow()
    assert await _claim(ctx, account, "w2", 1, now=start) == [live]
    # Claimed long ago: its lease ended a lease's length before ``start``.
    assert await _claim(ctx, account, "w1", 1, now=start - LEASE * 2) == [lapsing]
    async with ctx.db.unit_of_work() as session:
        ended = await leases.recover_lapsed(
            session,
            CONNECTION_CHECKS,
            start,
            {"state": "failed"},
            where=[ConnectionCheck.account_id == account.id],
            returning=[ConnectionCheck.name],
        )
    assert ended == [(f"lease-test-{account.id}-1",)]
    owners = await _owners(ctx, [lapsing, live])
    assert owners[lapsing] == (None, None)
    assert owners[live][0] == "w2"


async def test_claim_row_takes_a_named_row_only_while_claimable(ctx: Context, account: AccountHandle) -> None:
    """A named row is taken when the claimable condition holds under its lock, and not while
    another worker's lease on it is live."""
    [row] = await _rows(ctx, account, 1)
    now = utcnow()

    async def claim_row(worker: str) -> dict[int, tuple[Any, ...]]:
        async with ctx.db.unit_of_work() as session:
            return await leases.claim_row(
                session,
                CONNECTION_CHECKS,
                row,
                worker,
                now + LEASE,
                claimable=_claimable(account, now)[1],
                values={"state": "running"},
                columns=[ConnectionCheck.state],
            )

    assert await claim_row("w1") == {row: ("pending",)}  # the columns as they were before the claim
    assert await claim_row("w2") == {}
    async with ctx.db.read() as session:
        assert await leases.owners(session, CONNECTION_CHECKS) == ["w1"]
        held = await leases.holder(session, CONNECTION_CHECKS, row, ConnectionCheck.state)
    assert held is not None
    assert (held[0], held[1] is not None, held[2]) == ("w1", True, "running")
