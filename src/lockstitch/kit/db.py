"""Database plumbing: engine, declarative base, column types, unit of work.

Conventions (ARCHITECTURE.md section 3): queries live in repositories; services never commit;
the request or job owns one unit of work (``unit_of_work``), which commits when the block ends
normally and rolls back on any exception. The same models run on SQLite (aiosqlite, the embedded
default) and PostgreSQL (asyncpg, for fleets).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import orjson
from sqlalchemy import JSON, DateTime, MetaData, event, inspect, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

from lockstitch.kit.point_reads import PointQuery, PointReads
from lockstitch.kit.time import UTC

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


Row = TypeVar("Row")


class Repository:
    """The queries of one table family over one session. ``add`` stages a row and flushes it, so
    its id (and any server default) is known before the transaction ends."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: Row) -> Row:
        self.session.add(row)
        await self.session.flush()
        return row

    async def locked_batch(self, model: type[Row], after_id: int, batch: int) -> list[Row]:
        """Up to ``batch`` rows of ``model`` after ``after_id`` in primary-key order, locked for
        rewriting (a key rotation's batch: a writer of the same rows waits, losing nothing)."""
        key = inspect(model).primary_key[0]
        query = select(model).where(key > after_id).order_by(key).limit(batch).with_for_update()
        return list(await self.session.scalars(query))


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Stores UTC; always hands back timezone-aware UTC datetimes, on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# JSON documents: JSONB on PostgreSQL (indexable, compact), JSON text on SQLite.
JSONDoc = JSON().with_variant(postgresql.JSONB(), "postgresql")


def create_engine(url: str, *, writer: bool = True, pool_size: int = 10) -> AsyncEngine:
    """An engine for ``url``. On SQLite, ``writer`` engines open transactions with BEGIN IMMEDIATE.

    SQLite allows one writer at a time. A transaction that starts as a reader and later writes
    can fail at once with "database is locked" when another writer committed meanwhile (the
    busy timeout does not help there). Taking the write lock at BEGIN makes writers queue up
    politely instead; readers use a separate engine that begins deferred and never blocks.
    """
    if url.startswith("sqlite"):
        engine = create_async_engine(
            url, connect_args={"timeout": 30}, json_deserializer=orjson.loads, hide_parameters=True
        )
        begin = "BEGIN IMMEDIATE" if writer else "BEGIN"
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (the documented
        # recipe; it also makes SAVEPOINTs work).
        event.listen(engine.sync_engine, "begin", lambda conn: conn.exec_driver_sql(begin))
        return engine
    # Pre-ping costs a round trip per checkout but turns a server restart into a reconnect
    # instead of a failed write.
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        json_deserializer=orjson.loads,
        # Database errors end up in logs; their parameters (ciphertexts, property values) stay out.
        hide_parameters=True,
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # WAL lets readers proceed while one writer writes; busy_timeout waits out write locks
    # instead of failing; foreign keys are off by default in SQLite.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class Database:
    """The engines and session factories of one process.

    ``unit_of_work()`` is the read-write transaction a request or job owns; ``read()`` is a
    read-only session (on SQLite it does not take the write lock); ``first()`` runs one
    statement that reads a few rows by key, as cheaply as the driver allows (``point_reads``).
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url, writer=True)
        self.read_engine = create_engine(url, writer=False) if url.startswith("sqlite") else self.engine
        self.writer = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self.reader = async_sessionmaker(self.read_engine, expire_on_commit=False, autoflush=False)
        self._points = PointReads(url)
        self._write_turns = asyncio.Lock() if url.startswith("sqlite") else None

    async def first(self, query: PointQuery, params: dict[str, Any]) -> dict[str, Any] | None:
        return await self._points.first(query, params)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """A read-write transaction (do not nest them, and never await the network inside one).

        On SQLite, writers of this process take turns on an asyncio lock before BEGIN IMMEDIATE.
        Without it, every waiting writer sits in SQLite's busy handler, which polls with sleeps
        of up to 100 ms, so under load the database idles between writes (PUT throughput fell
        to a third and p99 latency rose to 2 s). Writers in other processes still wait in the
        busy handler, as before.
        """
        if self._write_turns is None:
            async with unit_of_work(self.writer) as session:
                yield session
            return
        async with self._write_turns, unit_of_work(self.writer) as session:
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self.reader() as session:
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()
        await self._points.dispose()


@asynccontextmanager
async def unit_of_work(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One transaction: commit if the block finishes, roll back if it raises."""
    async with sessions() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await session.commit()
