"""Who may take over a credential another worker holds (oauth/repository.py claims, kit.liveness).

A holder on this host that still runs is never overtaken, even long after its lease lapsed; one
whose process is gone is taken over at once, before its lease would lapse; a holder elsewhere
only once its lease lapsed. A takeover of a refresh that was in flight first finds out whether
its token was spent (oauth.in_flight) before sending it: against the real provider here, whose
introspection says the token is unused, the one refresh that follows succeeds.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys

from sqlalchemy import update

from lockstitch.context import Context
from lockstitch.kit.time import utcnow
from lockstitch.models import OAuthCredential
from lockstitch.oauth.lifecycle import TokenEngine
from lockstitch.oauth.repository import CredentialRepository
from tests.kit.test_liveness import _identity_of
from tests.oauth.conftest import Partner, rest_source_body
from tests.oauth_server.harness import OidcProvider


async def _held(
    ctx: Context, partner: Partner, oidc: OidcProvider, owner: str, lease_left: float
) -> tuple[int, int]:
    """A managed credential whose refresh ``owner`` claimed a minute ago (in flight since)."""
    source = await partner.create(rest_source_body(oidc.token_endpoint))
    await partner.managed_handshake(oidc, source["id"])
    now = utcnow()
    async with ctx.db.unit_of_work() as session:
        credential = await CredentialRepository(session).for_source(partner.account.id, source["id"])
        assert credential is not None
        await session.execute(
            update(OAuthCredential)
            .where(OAuthCredential.id == credential.id)
            .values(
                lease_owner=owner,
                lease_expires_at=now + dt.timedelta(seconds=lease_left),
                in_flight_since=now - dt.timedelta(minutes=1),
                refresh_due_at=now + dt.timedelta(hours=1),
            )
        )
    return credential.id, source["id"]


async def _state(ctx: Context, credential_id: int) -> tuple[int, str | None, bool]:
    async with ctx.db.read() as session:
        credential = await CredentialRepository(session).get(credential_id)
    assert credential is not None
    return credential.generation, credential.lease_owner, credential.in_flight_since is not None


async def test_a_live_holder_here_is_never_overtaken(
    oauth_ctx: Context, oidc: OidcProvider, partner: Partner
) -> None:
    child = await asyncio.create_subprocess_exec(sys.executable, "-c", "import time; time.sleep(120)")
    try:
        owner = _identity_of(child.pid)
        credential_id, _ = await _held(oauth_ctx, partner, oidc, owner, lease_left=-3600)  # lapsed long ago
        before = await _state(oauth_ctx, credential_id)
        assert await TokenEngine(oauth_ctx, oauth_ctx.process_id).refresh_due() == 0
        assert await _state(oauth_ctx, credential_id) == before
    finally:
        child.kill()
        await child.wait()


async def test_a_dead_holder_here_is_taken_over_at_once(
    oauth_ctx: Context, oidc: OidcProvider, partner: Partner
) -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import sys; sys.stdin.read()", stdin=-1
    )
    owner = _identity_of(child.pid)  # named while it runs, as a worker names itself
    assert child.stdin is not None
    child.stdin.close()
    await child.wait()
    credential_id, source_id = await _held(oauth_ctx, partner, oidc, owner, lease_left=3600)
    generation, _, _ = await _state(oauth_ctx, credential_id)
    oidc.reset()
    assert await TokenEngine(oauth_ctx, oauth_ctx.process_id).refresh_due() == 1
    # Introspection said the token was unused: it was sent once, and the answer stored.
    assert await _state(oauth_ctx, credential_id) == (generation + 1, None, False)
    assert oidc.stats()["refresh_requests"] == 1
    assert (await partner.health(source_id))["status"] == "valid"


async def test_a_holder_elsewhere_is_taken_over_once_its_lease_lapsed(
    oauth_ctx: Context, oidc: OidcProvider, partner: Partner
) -> None:
    engine = TokenEngine(oauth_ctx, oauth_ctx.process_id)
    waiting, _ = await _held(oauth_ctx, partner, oidc, "other-host:4242:999.abcdef", lease_left=3600)
    assert await engine.refresh_due() == 0
    assert (await _state(oauth_ctx, waiting))[1] == "other-host:4242:999.abcdef"
    lapsed, _ = await _held(oauth_ctx, partner, oidc, "other-host:4243:999.abcdef", lease_left=-1)
    generation, _, _ = await _state(oauth_ctx, lapsed)
    assert await engine.refresh_due() == 1
    assert await _state(oauth_ctx, lapsed) == (generation + 1, None, False)
