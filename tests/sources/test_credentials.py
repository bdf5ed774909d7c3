"""Credential properties at rest: sealed, bound to their row, rotated (both databases)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from lockstitch.context import Context
from lockstitch.kit.crypto import DecryptionError, Keyring, generate_key
from lockstitch.models import Source
from lockstitch.sources import credentials
from tests.conftest import TEST_KEY, AccountHandle
from tests.helpers import hp_postgres_properties


async def _two_sources(client: httpx.AsyncClient, who: AccountHandle) -> tuple[int, int]:
    ids = []
    for n, secret in ((1, "first-password-1"), (2, "second-password-2")):
        body = {
            "type": "platform.hp-postgres",
            "display_name": f"PG{n}",
            "properties": hp_postgres_properties(password=secret),
        }
        ids.append((await client.post("/v4/sources", headers=who.headers, json=body)).json()["id"])
    return ids[0], ids[1]


async def test_stored_sealed_and_opens_in_place(
    client: httpx.AsyncClient, account: AccountHandle, ctx: Context
) -> None:
    first, _ = await _two_sources(client, account)
    async with ctx.db.read() as session:
        source = await session.get(Source, first)
        assert source is not None
        assert "password" not in source.properties
        assert source.credentials["password"].startswith("v1.test1.")
        assert "first-password-1" not in source.credentials["password"]
        assert credentials.unseal(ctx.keyring, source, "password") == "first-password-1"


async def test_ciphertext_moved_to_another_row_does_not_open(
    client: httpx.AsyncClient, account: AccountHandle, ctx: Context
) -> None:
    first, second = await _two_sources(client, account)
    async with ctx.db.unit_of_work() as session:
        a = await session.get(Source, first)
        b = await session.get(Source, second)
        assert a is not None
        assert b is not None
        b.credentials = {"password": a.credentials["password"]}  # an attacker with DB write access
    async with ctx.db.read() as session:
        moved = await session.get(Source, second)
        assert moved is not None
        with pytest.raises(DecryptionError):
            credentials.unseal(ctx.keyring, moved, "password")


async def test_rotate_reseals_every_row(
    client: httpx.AsyncClient, account: AccountHandle, ctx: Context
) -> None:
    await _two_sources(client, account)
    newer = Keyring.from_specs([generate_key("k2"), TEST_KEY])
    after, total = 0, 0
    while True:
        async with ctx.db.unit_of_work() as session:
            last, resealed = await credentials.rotate(session, newer, after_id=after, batch=1)
        if last == after:
            break
        after, total = last, total + resealed
    assert total == 2
    async with ctx.db.read() as session:
        for source in await session.scalars(select(Source)):
            assert newer.key_id_of(source.credentials["password"]) == "k2"
            assert credentials.unseal(newer, source, "password").split("-password-")[1] in ("1", "2")
