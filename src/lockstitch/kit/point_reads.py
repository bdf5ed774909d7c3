"""Reads of a few rows by key on the hot path (auth, ``GET /v4/sources/{id}``), at driver speed.

An ORM session costs a pool checkout, BEGIN, the query and ROLLBACK, each awaited through
SQLAlchemy's async adapter: about 2 ms of CPU on a small machine, ten times the query itself.
A point read needs no transaction and no ORM, so a ``PointQuery`` is compiled once per dialect
to SQL text and run straight on the driver:

* SQLite: synchronously on the event loop through the stdlib ``sqlite3`` (autocommit,
  ``query_only``). A lookup by key takes tens of microseconds, less than a hop to aiosqlite's
  thread; WAL readers never wait for writers.
* PostgreSQL: an asyncpg pool with its prepared-statement cache; a connection that died with
  the server is retried once.

Results come back as dicts with the columns' Python values (aware UTC datetimes, parsed JSON),
as SQLAlchemy would give them. Only for statements that touch a few rows by key: anything long
would stall the event loop on SQLite.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

import asyncpg
import orjson
from sqlalchemy import JSON, DateTime, Select
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
from sqlalchemy.dialects.sqlite import pysqlite
from sqlalchemy.engine import make_url
from sqlalchemy.types import TypeDecorator

UTC = dt.UTC
Converter = Callable[[Any], Any]


def _sqlite_datetime(value: Any) -> Any:
    if value is None:
        return None
    return dt.datetime.fromisoformat(value).replace(tzinfo=UTC)


def _postgres_datetime(value: Any) -> Any:
    return None if value is None else value.astimezone(UTC)


def _json(value: Any) -> Any:
    return None if value is None or not isinstance(value, str | bytes) else orjson.loads(value)


def _identity(value: Any) -> Any:
    return value


class PointQuery:
    """A SELECT built once (with ``bindparam``s), compiled once per dialect."""

    def __init__(self, statement: Select[*tuple[Any, ...]]) -> None:
        self.statement = statement
        self.columns = [column.name for column in statement.selected_columns]
        self._types = [column.type for column in statement.selected_columns]
        self._compiled: dict[str, tuple[str, list[str], list[Converter]]] = {}

    def compiled(self, dialect_name: str) -> tuple[str, list[str], list[Converter]]:
        cached = self._compiled.get(dialect_name)
        if cached is None:
            dialect = pysqlite.dialect() if dialect_name == "sqlite" else asyncpg_dialect.dialect()  # type: ignore[no-untyped-call]
            compiled = self.statement.compile(dialect=dialect)
            converters = [self._converter(t, dialect_name) for t in self._types]
            cached = (compiled.string, list(compiled.positiontup or []), converters)
            self._compiled[dialect_name] = cached
        return cached

    @staticmethod
    def _converter(type_: Any, dialect_name: str) -> Converter:
        base = type_.impl if isinstance(type_, TypeDecorator) else type_
        if isinstance(base, JSON):
            return _json
        if isinstance(base, DateTime):
            return _sqlite_datetime if dialect_name == "sqlite" else _postgres_datetime
        return _identity


# How a connection that died (server restart, terminated backend, network) shows up in asyncpg.
_CONNECTION_LOST = (
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.InternalClientError,
    asyncpg.InterfaceError,
    ConnectionError,
    OSError,
)


class _Connections:
    """A minimal pool of asyncpg connections for point reads.

    asyncpg's own pool costs about 90 us of CPU per query in acquire/release bookkeeping (and a
    RESET round trip per release by default): as much as the query. These connections only run
    SELECTs in autocommit, so there is no session state to reset, and a connection that fails or
    is interrupted mid-query is thrown away rather than reused.
    """

    def __init__(self, dsn: str, size: int = 10) -> None:
        self._dsn = dsn
        self._size = size
        self._open = 0
        self._idle: deque[Any] = deque()
        self._waiters: deque[asyncio.Future[Any]] = deque()

    async def fetchrow(self, sql: str, args: list[Any]) -> Any:
        connection = await self._acquire()
        try:
            row = await connection.fetchrow(sql, *args)
        except BaseException:
            self._discard(connection)
            raise
        self._release(connection)
        return row

    async def _acquire(self) -> Any:
        while True:
            while self._idle:
                connection = self._idle.pop()
                if not connection.is_closed():
                    return connection
                self._open -= 1  # died while idle (server restart, terminated backend)
            if self._open < self._size:
                self._open += 1
                try:
                    return await asyncpg.connect(self._dsn)
                except BaseException:
                    self._free_slot()
                    raise
            waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                connection = await waiter
            except asyncio.CancelledError:
                # Cancelled after being handed a connection (or a free slot): pass it on.
                if waiter.done() and not waiter.cancelled():
                    self._release(waiter.result()) if waiter.result() is not None else self._wake(None)
                raise
            if connection is not None:
                return connection
            # None: a connection was thrown away, so there is room to open another; go round.

    def _release(self, connection: Any) -> None:
        if not self._wake(connection):
            self._idle.append(connection)

    def _discard(self, connection: Any) -> None:
        connection.terminate()
        self._free_slot()

    def _free_slot(self) -> None:
        self._open -= 1
        self._wake(None)

    def _wake(self, connection: Any) -> bool:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():  # a cancelled waiter is skipped
                waiter.set_result(connection)
                return True
        return False

    async def close(self) -> None:
        while self._idle:
            await self._idle.pop().close()
        self._open = 0


class PointReads:
    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self._sqlite_path: str | None = parsed.database if parsed.get_backend_name() == "sqlite" else None
        self._local = threading.local()  # sqlite3 connections are not shared between threads
        self._dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        self._pool: _Connections | None = None

    async def first(self, query: PointQuery, params: dict[str, Any]) -> dict[str, Any] | None:
        if self._sqlite_path is not None:
            sql, names, converters = query.compiled("sqlite")
            row = self._sqlite().execute(sql, [params[n] for n in names]).fetchone()
        else:
            sql, names, converters = query.compiled("postgresql")
            row = await self._fetchrow(sql, [params[n] for n in names])
        if row is None:
            return None
        return {
            name: convert(value) for name, convert, value in zip(query.columns, converters, row, strict=True)
        }

    def _sqlite(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            assert self._sqlite_path is not None
            connection = sqlite3.connect(
                self._sqlite_path, timeout=5, isolation_level=None, check_same_thread=False
            )
            connection.execute("PRAGMA query_only=ON")
            self._local.connection = connection
        return connection

    async def _fetchrow(self, sql: str, args: list[Any]) -> Any:
        pool = self._pool or _Connections(self._dsn)
        self._pool = pool
        try:
            return await pool.fetchrow(sql, args)
        except _CONNECTION_LOST:
            # A SELECT is safe to repeat; the failed connection was thrown away, the next is new.
            return await pool.fetchrow(sql, args)

    async def dispose(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
