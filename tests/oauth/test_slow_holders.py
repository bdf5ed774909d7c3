"""A refresh token is never in flight from two places at once, however slow things get.

Two ``lockstitch worker`` processes share due credentials behind a fault-injecting proxy that
answers every refresh slowly. Then one of two things holds a refresh up for longer than its
lease: the holder process itself stands still (a CPU-starved machine: ``crash_at=...:stall``),
or another connection holds the database (SQLite's writer; on PostgreSQL the credential rows)
so that no outcome can be stored. In both cases the other worker must not take the credentials
over while their holder lives: every refresh token reaches the provider exactly once (the proxy
records each one's hash), the provider sees no reuse, every answer is stored although it is
stored after its lease lapsed, and every credential ends valid with its new refresh tokens.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import signal
import sqlite3
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import select, update

from lockstitch.context import Context
from lockstitch.kit.time import utcnow
from lockstitch.models import OAuthCredential
from lockstitch.oauth import sealing
from tests.conftest import MakeAccount, MakeContext, api_client
from tests.e2e.processes import LOCKSTITCH
from tests.oauth.conftest import Partner, managed_sources, oauth_settings, process_env, provider_stats
from tests.oauth_server.fault_proxy import token_hash
from tests.oauth_server.harness import FaultProxy, OidcProvider

pytestmark = pytest.mark.slow
CREDENTIALS = 16
LEASE = 6.0
TIMEOUT = 3.0
ANSWER_DELAY = 1.5  # every refresh answer comes this late
HELD_FOR = LEASE + 4  # the stall, or the database hold: longer than any lease


@pytest.fixture
async def proxy(oidc: OidcProvider) -> AsyncIterator[FaultProxy]:
    async with FaultProxy(oidc.issuer, paths=["/token"]) as running:
        yield running


@pytest.fixture
async def slow(
    make_ctx: MakeContext, oidc: OidcProvider, proxy: FaultProxy, make_account: MakeAccount
) -> AsyncIterator[tuple[Context, Partner]]:
    oidc.reset()
    settings = oauth_settings(oidc, token_url=proxy.url_for(oidc.token_endpoint))
    settings["oauth"].update(lease_seconds=LEASE, http_timeout_seconds=TIMEOUT, refresh_concurrency=8)
    ctx = make_ctx(**settings)
    who = await make_account()
    async with api_client(ctx) as http:
        await http.put(
            "/v4/account/return-origins",
            headers=who.headers,
            json={"origins": ["https://partner.example.com"]},
        )
        yield ctx, Partner(who, http, {})


async def _generations(ctx: Context) -> dict[int, int]:
    async with ctx.db.read() as session:
        rows = await session.execute(select(OAuthCredential.id, OAuthCredential.generation))
        return {credential_id: generation for credential_id, generation in rows}  # noqa: C416


async def _statuses(ctx: Context) -> collections.Counter[str]:
    async with ctx.db.read() as session:
        rows = await session.execute(select(OAuthCredential.status, OAuthCredential.in_flight_since))
        return collections.Counter("refreshing" if since else status for status, since in rows)


async def _active(ctx: Context) -> int:
    """Refreshes a holder is working on (leased and in flight). An unresolved mark its holder let
    go is not one: it waits for the credential's time, and the test's statuses show it."""
    async with ctx.db.read() as session:
        rows = await session.execute(
            select(OAuthCredential.id).where(
                OAuthCredential.in_flight_since.is_not(None), OAuthCredential.lease_owner.is_not(None)
            )
        )
        return len(rows.all())


async def _workers(ctx: Context, tmp_path: Path, crash_at: list[str | None]) -> list[tuple[Any, Path]]:
    started = []
    for n, spec in enumerate(crash_at):
        extra = {"LOCKSTITCH_CRASH_AT": spec} if spec else {}
        env = process_env(ctx, tmp_path / f"worker{n}.toml", **extra)
        log = tmp_path / f"worker{n}.log"
        process = await asyncio.create_subprocess_exec(
            LOCKSTITCH, "worker", env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
        )
        started.append((process, log))
    for process, log in started:
        while "worker started" not in log.read_text():
            assert process.returncode is None, log.read_text()
            await asyncio.sleep(0.1)
    return started


async def _run(
    ctx: Context,
    proxy: FaultProxy,
    oidc: OidcProvider,
    tmp_path: Path,
    crash_at: list[str | None],
    hold: Any,
    opened: dict[int, str] | None = None,
) -> dict[int, int]:
    """Make every credential due with two workers running, apply ``hold`` once the first refresh
    requests are out, and wait until each credential has its new refresh token stored.
    ``opened`` receives each credential's refresh-token hash as the counting window opened."""
    await _set_due(ctx, utcnow() + dt.timedelta(days=1))
    deadline = time.monotonic() + 600  # generous: conditions decide, never the clock
    # The window opens before the workers start: every refresh they make (a connection check's
    # included) is then inside it, and so is the first answer a failpoint counts.
    before, tokens = await _open_window(ctx, proxy, oidc, deadline)
    if opened is not None:
        opened.update(tokens)
    workers = await _workers(ctx, tmp_path, crash_at)
    try:
        proxy.set_program(lambda _request: ("delay_response", ANSWER_DELAY))
        await _set_due(ctx, utcnow())
        while not [r for r in proxy.requests if r.grant_type == "refresh_token"]:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        await hold()
        while True:
            after = await _generations(ctx)
            if all(after[i] > before[i] for i in before) and (await _statuses(ctx))["refreshing"] == 0:
                break
            assert time.monotonic() < deadline, (
                await _statuses(ctx),
                [log.read_text()[-2000:] for _, log in workers],
            )
            await asyncio.sleep(0.2)
        # Nothing new comes due (10 s tokens would); what is in flight settles.
        await _set_due(ctx, utcnow() + dt.timedelta(days=1))
        while await _active(ctx):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.2)
    finally:
        for process, _ in workers:
            process.send_signal(signal.SIGTERM)
        for process, _ in workers:
            await process.wait()
    # Counted once the workers have stopped: a connection check can still ask for a fresh access
    # token up to then, and its refresh is in the proxy's books, so it must be in these too.
    after = await _generations(ctx)
    return {i: after[i] - before[i] for i in before}


async def _open_window(
    ctx: Context, proxy: FaultProxy, oidc: OidcProvider, deadline: float
) -> tuple[dict[int, int], dict[int, str]]:
    """Start counting (provider and proxy books cleared, stored generations read) at a moment
    when no refresh is on its way, and return the generations and refresh-token hashes then held
    (a token rotated by a connection check before the window is not the one the window sees).

    Refreshes happen before the credentials are made due: the connection checks the handshakes
    queued ask for a fresh access token when theirs is about to expire (10 s tokens). One sent
    before the books are cleared but stored after the generations are read would count on one
    side only, so the window opens only when, after the read, nothing is refreshing, nothing
    was stored meanwhile and neither book saw a refresh.
    """
    while True:
        assert time.monotonic() < deadline
        while await _active(ctx):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        oidc.reset()
        proxy.clear()
        before = await _generations(ctx)
        tokens = await _refresh_token_hashes(ctx)
        quiet = not await _active(ctx) and await _generations(ctx) == before
        sent = [r for r in proxy.requests if r.grant_type == "refresh_token"]
        if quiet and not sent and oidc.stats()["refresh_requests"] == 0:
            return before, tokens
        await asyncio.sleep(0.2)


async def _assert_each_token_sent_once(
    proxy: FaultProxy, oidc: OidcProvider, rotations: dict[int, int]
) -> None:
    refreshes = [r for r in proxy.requests if r.grant_type == "refresh_token"]
    sent = collections.Counter(r.refresh_token_hash for r in refreshes)
    assert max(sent.values()) == 1, [h for h, n in sent.items() if n > 1]
    stats = await provider_stats(oidc, refreshes_at_least=sum(rotations.values()))
    assert stats["reuse_detected"] == 0
    assert stats["invalid_grant"] == 0
    assert stats["refresh_requests"] == stats["refresh_success"] == len(refreshes) == sum(rotations.values())
    # Each credential got a new refresh token, stored; one that came due again meanwhile (10 s
    # tokens) was refreshed again, with its new token: counted on both sides above.
    assert min(rotations.values()) >= 1


async def test_a_stalled_holder_is_never_overtaken(
    slow: tuple[Context, Partner], oidc: OidcProvider, proxy: FaultProxy, tmp_path: Path
) -> None:
    ctx, partner = slow
    await managed_sources(partner, oidc, CREDENTIALS)

    async def nothing() -> None:
        return None

    old_tokens: dict[int, str] = {}
    # Worker 0 stands still for longer than its lease right after its first answer arrives.
    stall = [f"after_response:1:stall={HELD_FOR}", None]
    rotations = await _run(ctx, proxy, oidc, tmp_path, stall, nothing, old_tokens)
    await _assert_each_token_sent_once(proxy, oidc, rotations)
    assert (await _statuses(ctx)) == collections.Counter({"valid": CREDENTIALS})
    # The stalled holder's answers were stored although their leases had lapsed meanwhile.
    sent_at = {r.refresh_token_hash: r.wall_time for r in proxy.requests if r.grant_type == "refresh_token"}
    async with ctx.db.read() as session:
        stored = {c.id: c.last_refreshed_at for c in await session.scalars(select(OAuthCredential))}
    late = [
        i for i, at in stored.items() if at is not None and at.timestamp() - sent_at[old_tokens[i]] > LEASE
    ]
    assert late, "no answer was stored after its lease lapsed: the stalled worker held nothing"


async def test_a_held_database_never_causes_a_second_send(
    slow: tuple[Context, Partner], oidc: OidcProvider, proxy: FaultProxy, tmp_path: Path, backend: str
) -> None:
    ctx, partner = slow
    await managed_sources(partner, oidc, CREDENTIALS)
    holds: list[float] = []

    async def hold() -> None:
        """While answers are on their way, nobody can store them for longer than a lease."""
        started = time.monotonic()
        if backend == "sqlite":
            path = ctx.settings.database.split("///", 1)[1]
            connection = sqlite3.connect(path, isolation_level=None, timeout=60)
            connection.execute("BEGIN IMMEDIATE")  # the one writer, for HELD_FOR seconds
            try:
                await asyncio.sleep(HELD_FOR)
            finally:
                connection.execute("ROLLBACK")
                connection.close()
        else:
            url = ctx.settings.database.replace("postgresql+asyncpg://", "postgresql://", 1)
            connection = await asyncpg.connect(url)
            try:
                async with connection.transaction():
                    await connection.execute("SELECT id FROM oauth_credentials FOR UPDATE")
                    await asyncio.sleep(HELD_FOR)
            finally:
                await connection.close()
        holds.append(time.monotonic() - started)

    rotations = await _run(ctx, proxy, oidc, tmp_path, [None, None], hold)
    assert len(holds) == 1
    assert holds[0] >= LEASE
    await _assert_each_token_sent_once(proxy, oidc, rotations)
    assert (await _statuses(ctx)) == collections.Counter({"valid": CREDENTIALS})


async def _refresh_token_hashes(ctx: Context) -> dict[int, str]:
    async with ctx.db.read() as session:
        credentials = list(await session.scalars(select(OAuthCredential)))
    return {c.id: token_hash(sealing.unseal(ctx.keyring, c, "refresh_token")) for c in credentials}


async def _set_due(ctx: Context, when: dt.datetime) -> None:
    async with ctx.db.unit_of_work() as session:
        await session.execute(update(OAuthCredential).values(refresh_due_at=when))
