"""Point reads: the same values as the ORM, and a connection pool that survives abuse."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os

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


def _handles_on(file: str) -> int:
    path = os.path.realpath(file)
    handles = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            handles += os.path.realpath(f"/proc/self/fd/{fd}") == path
    return handles


async def _open_connections(ctx: Context, backend: str) -> int:
    """Connections to the test database as the server sees them: backends on PostgreSQL
    (``pg_stat_activity``), open handles on the database file for SQLite."""
    url = ctx.settings.database_url
    if backend == "sqlite":
        return _handles_on(url.split("///", 1)[1])
    database = url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(POSTGRES_ADMIN, timeout=10)
    try:
        count = await admin.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", database
        )
    finally:
        await admin.close()
    return int(count)


async def test_many_concurrent_reads_share_few_connections(
    client: httpx.AsyncClient, account: AccountHandle, ctx: Context, backend: str
) -> None:
    """200 concurrent point reads give the right row and open at most the point-read pool's
    ten connections (PostgreSQL) or one per thread (SQLite), not one per read."""
    source_id = await _source(client, account)
    await fetch_source(ctx.db, account.id, source_id)  # the first read opens what reads keep
    before = await _open_connections(ctx, backend)
    assert before >= 1  # the count sees the connection the first read opened
    results = await asyncio.gather(*(fetch_source(ctx.db, account.id, source_id) for _ in range(200)))
    assert all(r is not None and r[0].id == source_id for r in results)
    opened = await _open_connections(ctx, backend) - before
    assert opened <= (10 if backend == "postgres" else 0), f"{opened} more connections for 200 reads"


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
