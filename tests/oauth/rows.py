"""Rows for the OAuth unit tests, written straight to the test database: a source of the REST
type (OAuth provider ``oauth2``), its credentials, a connection check waiting for them."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any, TypeVar

from sqlalchemy import select

from lockstitch.context import Context
from lockstitch.kit.time import utcnow
from lockstitch.models import ConnectionCheck, Event, OAuthAppFlag, OAuthCredential, Source

REST_TYPE = "lockstitch.rest-api"
T = TypeVar("T")


async def add_source(ctx: Context, account_id: int, *, paused: bool = False, check: bool = False) -> int:
    """A source; ``paused``: system-paused for its credentials an hour ago; ``check``: with a
    pending connection check."""
    now = utcnow()
    name = f"api_{secrets.token_hex(4)}"
    async with ctx.db.unit_of_work() as session:
        source = Source(
            account_id=account_id,
            type=REST_TYPE,
            name=name,
            display_name=name,
            properties={},
            credentials={},
            created_at=now,
            updated_at=now,
        )
        if paused:
            source.system_paused_at = now - dt.timedelta(hours=1)
            source.system_pause_reason = "credentials"
        session.add(source)
        await session.flush()
        if check:
            source.check_job_name = f"{account_id}.{source.id}.check.{name}"
            session.add(
                ConnectionCheck(
                    account_id=account_id,
                    source_id=source.id,
                    name=source.check_job_name,
                    state="pending",
                    created_at=now,
                )
            )
        return source.id


async def add_credential(ctx: Context, account_id: int, source_id: int, **columns: Any) -> int:
    now = utcnow()
    values: dict[str, Any] = {
        "provider": "oauth2",
        "app": "source",
        "status": "valid",
        "provides": [],
        "version": 3,
        "generation": 2,
        "failures": 0,
        "created_at": now,
        "updated_at": now,
    }
    values.update(columns)
    async with ctx.db.unit_of_work() as session:
        credential = OAuthCredential(account_id=account_id, source_id=source_id, **values)
        session.add(credential)
        await session.flush()
        return credential.id


async def row(ctx: Context, model: type[T], row_id: int) -> T:
    """One row as stored now (read in its own session)."""
    async with ctx.db.read() as session:
        found = await session.get(model, row_id)
    assert found is not None, f"no {model.__name__} {row_id}"
    return found


async def source_of(ctx: Context, source_id: int) -> Source:
    return await row(ctx, Source, source_id)


async def credential_of(ctx: Context, credential_id: int) -> OAuthCredential:
    return await row(ctx, OAuthCredential, credential_id)


async def events_of(ctx: Context, source_id: int) -> list[Event]:
    async with ctx.db.read() as session:
        return list(
            await session.scalars(select(Event).where(Event.source_id == source_id).order_by(Event.id))
        )


async def check_of(ctx: Context, source_id: int) -> ConnectionCheck:
    async with ctx.db.read() as session:
        found = await session.scalar(select(ConnectionCheck).where(ConnectionCheck.source_id == source_id))
    assert found is not None
    return found


async def flags(ctx: Context) -> list[OAuthAppFlag]:
    async with ctx.db.read() as session:
        return list(await session.scalars(select(OAuthAppFlag)))
