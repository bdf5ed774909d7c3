"""Seed one account and many realistic sources, fast enough for a benchmark.

The first source is created by ``sources.service.create_source`` itself: it is the reference
that the others must look like. Creating 10,000 that way takes minutes (several round trips
per source), so the rest are inserted in batches that repeat what ``create_source`` stores: the
same property review, system values and defaults (the service's own ``apply_changes``), credentials
sealed under the configured keyring with the row's real id, and a pending connection check
per source, as a freshly configured ``platform.hp-postgres`` source has. ``bench.api`` then
checks over HTTP that a batch-inserted source reads exactly like the reference.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from lockstitch.accounts import service as accounts
from lockstitch.accounts.auth import Principal
from lockstitch.accounts.repository import TokenRepository
from lockstitch.accounts.tokens import hash_token
from lockstitch.catalog.source_type import SourceType
from lockstitch.context import Context
from lockstitch.kit import naming
from lockstitch.kit.time import utcnow
from lockstitch.models import ConnectionCheck, Source
from lockstitch.oauth import ownership
from lockstitch.sources import credentials
from lockstitch.sources import service as sources
from lockstitch.sources.properties import RULES
from lockstitch.sources.repository import SourceRepository

SOURCE_TYPE = "platform.hp-postgres"
BATCH = 500


class SeedError(RuntimeError):
    """Seeding did not produce what the service layer would have."""


@dataclass(frozen=True)
class Seeded:
    account_id: int
    token: str
    source_ids: list[int]
    reference_id: int  # created by sources.service.create_source
    seconds: float
    database_version: str


def display_name(number: int) -> str:
    return f"Warehouse {number:05d}"


def source_properties(number: int) -> dict[str, Any]:
    """What a customer sends for a PostgreSQL source (the password is sealed at rest)."""
    return {
        "host": f"db{number % 97}.example.internal",
        "port": "5432",
        "user": f"replicator_{number % 13}",
        "password": secrets.token_urlsafe(24),
        "dbname": f"warehouse_{number:05d}",
    }


async def seed(ctx: Context, count: int) -> Seeded:
    started = time.perf_counter()
    async with ctx.db.unit_of_work() as session:
        created = await accounts.create_account(
            session, email=f"bench-{uuid.uuid4().hex[:12]}@example.com", company="Lockstitch benchmark"
        )
    async with ctx.db.read() as session:
        owner = await TokenRepository(session).owner_of(hash_token(created.access_token))
        version = await _database_version(session, ctx.db.dialect)
    if owner is None:
        raise SeedError("the new account's token does not authenticate")
    who = Principal(owner.account_id, owner.pricing_tier, owner.scopes, owner.token_id)
    source_type = ctx.catalog.source_type(SOURCE_TYPE)
    if source_type is None:
        raise SeedError(f"the catalogue has no {SOURCE_TYPE}")

    body = {"type": SOURCE_TYPE, "display_name": display_name(1), "properties": source_properties(1)}
    async with ctx.db.unit_of_work() as session:
        reference = await sources.create_source(session, ctx, who, body, ownership=ownership)
    ids = [int(reference["id"])]
    last_password = ""
    for first in range(2, count + 1, BATCH):
        numbers = range(first, min(first + BATCH, count + 1))
        batch = [(n, source_properties(n)) for n in numbers]
        async with ctx.db.unit_of_work() as session:
            ids += await _insert_batch(session, ctx, who, source_type, batch)
        last_password = batch[-1][1]["password"]
    if count > 1:
        await _check_sealed(ctx, who, ids[-1], last_password)
    return Seeded(
        account_id=who.account_id,
        token=created.access_token,
        source_ids=ids,
        reference_id=ids[0],
        seconds=time.perf_counter() - started,
        database_version=version,
    )


async def _insert_batch(
    session: AsyncSession,
    ctx: Context,
    who: Principal,
    source_type: SourceType,
    batch: list[tuple[int, dict[str, Any]]],
) -> list[int]:
    now = utcnow()
    rows = []
    for number, incoming in batch:
        changes = RULES.review(source_type.properties, incoming, {}, frozenset())
        if changes.bad:
            raise SeedError(f"{SOURCE_TYPE} rejects the seed properties: {changes.bad}")
        name = display_name(number)
        source = Source(
            account_id=who.account_id,
            type=source_type.type,
            name=naming.derive_name(name),
            display_name=name,
            properties={},
            credentials={},
            created_at=now,
            updated_at=now,
        )
        rows.append((source, changes))
    session.add_all(source for source, _ in rows)
    await session.flush()  # one batched INSERT: the ids are part of the credentials' associated data
    for source, changes in rows:
        source.properties = dict(source_type.system_values(who.account_id, source.id))
        # as create_source does
        await sources.apply_changes(session, ctx, ownership, source, source_type, changes, [])
        check = f"{source.account_id}.{source.id}.check.{uuid.uuid4()}"
        session.add(
            ConnectionCheck(
                account_id=source.account_id, source_id=source.id, name=check, state="pending", created_at=now
            )
        )
        source.check_job_name = check
    await session.flush()
    return [source.id for source, _ in rows]


async def _check_sealed(ctx: Context, who: Principal, source_id: int, password: str) -> None:
    """The stored credential opens with the server's keyring and the row's own associated data."""
    async with ctx.db.read() as session:
        found = await SourceRepository(session).get(who.account_id, source_id)
    if found is None or set(found[0].credentials) != {"password"}:
        raise SeedError(f"source {source_id} was not stored with a sealed password")
    if credentials.unseal(ctx.keyring, found[0], "password") != password:
        raise SeedError(f"source {source_id}'s sealed password does not open to the seeded value")


async def _database_version(session: AsyncSession, dialect: str) -> str:
    if dialect == "sqlite":
        return f"SQLite {await session.scalar(text('select sqlite_version()'))}"
    return f"PostgreSQL {await session.scalar(text('show server_version'))}"
