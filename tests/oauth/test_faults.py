"""Provider faults, through a fault-injecting proxy in front of oidc-provider.

* A minute of 5xx and 429 (with Retry-After) causes no needs_reauth, no request before the
  Retry-After, and the credential recovers when the provider does.
* A revoked grant (invalid_grant) leads to needs_reauth within two attempts, with one event.
* A dropped response (the provider rotated the refresh token, the answer never arrived) and a
  request that times out before reaching the provider each end honestly, found out without
  sending the refresh token again (introspection, oauth.in_flight): needs_reauth with one event
  when the token was spent, valid again when it was not.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select, update

from lockstitch.context import Context
from lockstitch.kit.time import utcnow
from lockstitch.models import Event, OAuthCredential
from lockstitch.oauth.lifecycle import TokenEngine
from lockstitch.worker.loop import Worker
from tests.conftest import MakeAccount, MakeContext, api_client
from tests.oauth.conftest import Partner, oauth_settings, rest_source_body
from tests.oauth_server.fault_proxy import RecordedRequest
from tests.oauth_server.harness import FaultProxy, OidcProvider

OUTAGE_SECONDS = float(os.environ.get("LOCKSTITCH_OUTAGE_SECONDS", "60"))
SQLITE_SHARE = 1 / 3  # the issue's minute on PostgreSQL; 20 s of the same on SQLite


@pytest.fixture
async def proxy(oidc: OidcProvider) -> AsyncIterator[FaultProxy]:
    async with FaultProxy(oidc.issuer, paths=["/token"]) as running:
        yield running


@pytest.fixture
async def faulty(
    make_ctx: MakeContext, oidc: OidcProvider, proxy: FaultProxy, make_account: MakeAccount
) -> AsyncIterator[tuple[Context, Partner]]:
    from lockstitch.accounts import service as accounts  # noqa: PLC0415

    oidc.reset()
    settings = oauth_settings(oidc, token_url=proxy.url_for(oidc.token_endpoint))
    settings["oauth"].update(
        http_timeout_seconds=2.0, lease_seconds=5.0, max_backoff_seconds=8.0, reauth_confirm_seconds=0.5
    )
    settings["worker_poll_seconds"] = 0.1
    ctx = make_ctx(**settings)
    who = await make_account()
    async with ctx.db.unit_of_work() as session:
        scoped = await accounts.issue_token(session, who.id, scopes=frozenset({"credentials:read"}))
    async with api_client(ctx) as http:
        await http.put(
            "/v4/account/return-origins",
            headers=who.headers,
            json={"origins": ["https://partner.example.com"]},
        )
        yield ctx, Partner(who, http, {"Authorization": f"Bearer {scoped}"})


async def _source(partner: Partner, oidc: OidcProvider, proxy: FaultProxy) -> dict[str, Any]:
    source = await partner.create(rest_source_body(proxy.url_for(oidc.token_endpoint)))
    assert (await partner.managed_handshake(oidc, source["id"]))["status"] == ["succeeded"]
    return source


async def _make_due(ctx: Context) -> None:
    async with ctx.db.unit_of_work() as session:
        await session.execute(update(OAuthCredential).values(refresh_due_at=utcnow()))


async def _events(ctx: Context) -> list[str]:
    async with ctx.db.read() as session:
        return [e.type for e in await session.scalars(select(Event).order_by(Event.id))]


@pytest.mark.slow
async def test_a_minute_of_5xx_and_429(
    faulty: tuple[Context, Partner], oidc: OidcProvider, proxy: FaultProxy, backend: str
) -> None:
    ctx, partner = faulty
    outage = OUTAGE_SECONDS * (SQLITE_SHARE if backend == "sqlite" else 1)
    source = await _source(partner, oidc, proxy)
    outage_ends = time.monotonic() + outage
    faults = [("status", 503), ("retry_after", 3), ("status", 500), ("status", 502), ("retry_after", 6)]
    answered: dict[int, tuple[Any, ...]] = {}  # request index -> the fault it got

    def program(request: RecordedRequest) -> tuple[Any, ...]:
        if time.monotonic() >= outage_ends:
            return ("pass",)
        answered[request.index] = faults[len(answered) % len(faults)]
        return answered[request.index]

    proxy.set_program(program)
    proxy.clear()
    await _make_due(ctx)
    stop = asyncio.Event()
    worker = asyncio.create_task(Worker(ctx).run(stop))
    seen: set[str] = set()
    try:
        while True:
            health = await partner.health(source["id"])
            seen.add(health["status"])
            if time.monotonic() > outage_ends and health["status"] == "valid":
                break
            assert time.monotonic() < outage_ends + 30, health
            await asyncio.sleep(0.5)
    finally:
        stop.set()
        await worker

    records = [r for r in proxy.requests if r.grant_type == "refresh_token"]
    assert seen <= {"valid", "backing_off", "refreshing"}  # never needs_reauth
    assert "backing_off" in seen
    assert len(answered) >= outage / 10  # it kept trying through the outage (backoff <= 8 s)...
    assert len(answered) <= outage  # ...without hammering the provider
    for earlier, later in itertools.pairwise(records):
        fault = answered.get(earlier.index)
        if fault is not None and fault[0] == "retry_after":
            assert later.time - earlier.time >= fault[1] - 0.05, (fault, later.time - earlier.time)
    assert records[-1].status == 200
    assert await _events(ctx) == []
    vended = await partner.vend(source["id"])
    assert vended.status_code == 200
    assert oidc.stats()["reuse_detected"] == 0


async def test_revoked_grant_needs_reauth_within_two_attempts(
    faulty: tuple[Context, Partner], oidc: OidcProvider, proxy: FaultProxy
) -> None:
    ctx, partner = faulty
    source = await _source(partner, oidc, proxy)
    async with ctx.db.read() as session:
        credential = (await session.scalars(select(OAuthCredential))).one()
    from lockstitch.oauth import sealing  # noqa: PLC0415

    oidc.revoke_grant(refresh_token=sealing.unseal(ctx.keyring, credential, "refresh_token"))
    proxy.clear()
    await _make_due(ctx)
    stop = asyncio.Event()
    worker = asyncio.create_task(Worker(ctx).run(stop))
    try:
        deadline = time.monotonic() + 20
        while (await partner.health(source["id"]))["status"] != "needs_reauth":
            assert time.monotonic() < deadline
            await asyncio.sleep(0.2)
    finally:
        stop.set()
        await worker
    # Nothing more happens after that: no worker would even claim it.
    assert await TokenEngine(ctx, "another-worker").refresh_due() == 0
    attempts = [r for r in proxy.requests if r.grant_type == "refresh_token"]
    assert len(attempts) == 2
    assert await _events(ctx) == ["source.credentials_invalid"]
    assert (await partner.source(source["id"]))["system_paused_at"] is not None


async def test_dropped_response_ends_honestly(
    faulty: tuple[Context, Partner], oidc: OidcProvider, proxy: FaultProxy
) -> None:
    ctx, partner = faulty
    source = await _source(partner, oidc, proxy)
    proxy.set_program([("drop",)])  # the provider rotates the token; the answer is lost
    await _make_due(ctx)
    stop = asyncio.Event()
    worker = asyncio.create_task(Worker(ctx).run(stop))
    try:
        deadline = time.monotonic() + 20
        while True:
            drop_pending = proxy.remaining() == 1  # read first: the worker may send it meanwhile
            health = await partner.health(source["id"])
            if health["status"] == "needs_reauth":
                break
            assert health["status"] != "valid" or drop_pending, health
            assert time.monotonic() < deadline, health
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await worker
    # The provider's introspection said the token was spent: it was never sent again (no reuse
    # the provider could punish), and the source says so once; it never read "valid" between.
    assert await _events(ctx) == ["source.credentials_invalid"]
    assert oidc.stats()["reuse_detected"] == 0
    assert len([r for r in proxy.requests if r.grant_type == "refresh_token"]) == 1
    assert "refresh_token_spent" in (await partner.health(source["id"]))["last_error"]["message"]


async def test_timeout_before_the_provider_recovers(
    faulty: tuple[Context, Partner], oidc: OidcProvider, proxy: FaultProxy
) -> None:
    ctx, partner = faulty
    source = await _source(partner, oidc, proxy)
    proxy.set_program([("delay", 5)])  # longer than the 2 s timeout; never forwarded
    await _make_due(ctx)
    stop = asyncio.Event()
    worker = asyncio.create_task(Worker(ctx).run(stop))
    try:
        deadline = time.monotonic() + 120
        saw_unsettled = False
        while True:
            health = await partner.health(source["id"])
            # "refreshing" while its outcome is found out (introspection: the token is unused).
            saw_unsettled |= health["status"] in ("backing_off", "refreshing")
            if saw_unsettled and health["status"] == "valid" and proxy.remaining() == 0:
                break
            assert time.monotonic() < deadline, health
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await worker
    assert await _events(ctx) == []
    assert oidc.stats()["reuse_detected"] == 0
    # The held request never reached the provider; introspection said the token was unused, and
    # the one resend refreshed.
    assert len([r for r in proxy.requests if r.grant_type == "refresh_token"]) == 2
    assert oidc.stats()["refresh_success"] == 1
