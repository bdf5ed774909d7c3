"""Point reads: the same values as the ORM, and a connection pool that survives abuse."""

from __future__ import annotations

import asyncio
import datetime as dt

import asyncpg
import httpx
import pytest
from sqlalchemy import Integer, bindparam, literal_column, select

from lockstitch.context import Context
from lockstitch.kit.point_reads import PointQuery, PointReads
from lockstitch.models import Source
from lockstitch.sources.repository import fetch_source
from tests.conftest import POSTGRES_ADMIN, AccountHandle
from tests.helpers import hp_postgres_properties


async def _source(client: httpx.AsyncClient, who: AccountHandle) -> int:
    body = {"type": "platform.hp-postgres", "display_name": "PG", "properties": hp_postgres_properties()}
    return int((await client.post("/v4/sources", headers=who.headers, json=body)).json()["id"])


async def test_point_read_matches_the_orm(
    client: httpx.AsyncClient, account: AccountHandle, ctx: Context
) -> None:
    source_id = await _source(client, account)
    found = await fetch_source(ctx.db, account.id, source_id)
    assert found is not None
    record, state, provides = found
    assert provides == []
    async with ctx.db.read() as session:
        orm = (await session.scalars(select(Source).where(Source.id == source_id))).one()
    for column in Source.__table__.columns:
        assert getattr(record, column.name) == getattr(orm, column.name), column.name
    assert record.created_at.tzinfo == dt.UTC
    assert isinstance(record.properties, dict)
    assert state == "pending"
    assert await fetch_source(ctx.db, account.id + 1, source_id) is None  # another account's


async def test_many_concurrent_reads_share_few_connections(
    client: httpx.AsyncClient, account: AccountHandle, ctx: Context
) -> None:
    source_id = await _source(client, account)
    results = await asyncio.gather(*(fetch_source(ctx.db, account.id, source_id) for _ in range(200)))
    assert all(r is not None and r[0].id == source_id for r in results)


@pytest.fixture
async def postgres_reads() -> PointReads:
    base = POSTGRES_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return PointReads(f"{base}/postgres")


async def test_cancelled_readers_do_not_leak_connections(postgres_reads: PointReads) -> None:
    x = bindparam("x", type_=Integer).label("x")
    slow = PointQuery(select(literal_column("pg_sleep(0.05)").label("s"), x))
    tasks = [asyncio.ensure_future(postgres_reads.first(slow, {"x": n})) for n in range(40)]
    await asyncio.sleep(0.02)
    for task in tasks[::2]:
        task.cancel()
    done = await asyncio.gather(*tasks, return_exceptions=True)
    assert sum(isinstance(d, asyncio.CancelledError) for d in done) >= 10
    for n, outcome in enumerate(done):
        assert isinstance(outcome, asyncio.CancelledError) or outcome == {"s": None, "x": n}
    # Every slot is usable again: a burst as large as the pool completes.
    again = await asyncio.gather(*(postgres_reads.first(slow, {"x": n}) for n in range(20)))
    assert [r["x"] for r in again if r] == list(range(20))
    await postgres_reads.dispose()


async def test_a_killed_connection_is_replaced(postgres_reads: PointReads) -> None:
    x = bindparam("x", type_=Integer).label("x")
    whoami = PointQuery(select(literal_column("pg_backend_pid()").label("pid"), x))
    first = await postgres_reads.first(whoami, {"x": 1})
    assert first is not None
    admin = await asyncpg.connect(POSTGRES_ADMIN)
    try:
        await admin.execute("SELECT pg_terminate_backend($1)", first["pid"])
    finally:
        await admin.close()
    second = await postgres_reads.first(whoami, {"x": 2})
    assert second is not None
    assert second["pid"] != first["pid"]
    await postgres_reads.dispose()
