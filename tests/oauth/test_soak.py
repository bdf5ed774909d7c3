"""Done-when 1: tokens stay valid for minutes with 10-second access tokens and rotating refresh
tokens: the worker keeps a managed and a bring-your-own source fresh while a partner asks for
access tokens all the time. Zero expired tokens handed out, zero reuse detections.

Runs SOAK_SECONDS (default 180, the issue's three minutes; LOCKSTITCH_SOAK_SECONDS overrides).
"""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from lockstitch.context import Context
from lockstitch.worker.loop import Worker
from tests.oauth.conftest import Partner, rest_source_body
from tests.oauth_server.harness import OidcProvider, token_request_async

pytestmark = pytest.mark.slow
SOAK_SECONDS = float(os.environ.get("LOCKSTITCH_SOAK_SECONDS", "180"))
# The three minutes run on PostgreSQL (the fleet database); SQLite, the same code, soaks
# for a third of it to keep `make test` short.
SQLITE_SHARE = 1 / 3


async def _introspect(provider: OidcProvider, token: str) -> dict[str, object]:
    api = provider.client("api")
    response = await token_request_async(
        provider.introspection_endpoint, api.client_id, api.client_secret, {"token": token}
    )
    return dict(response.json())


async def test_tokens_never_expire_in_use(
    oauth_ctx: Context, oidc: OidcProvider, partner: Partner, backend: str
) -> None:
    soak = SOAK_SECONDS * (SQLITE_SHARE if backend == "sqlite" else 1)
    managed = await partner.create(rest_source_body(oidc.token_endpoint, name="Managed"))
    assert (await partner.managed_handshake(oidc, managed["id"]))["status"] == ["succeeded"]
    own = await partner.create(rest_source_body(oidc.token_endpoint, name="Own"))
    await partner.bring_own(oidc, own["id"])
    for source in (managed, own):
        assert (await partner.source(source["id"]))["report_card"]["current_step_type"] == "discover_schema"

    stop = asyncio.Event()
    worker = asyncio.create_task(Worker(oauth_ctx).run(stop))
    handed_out = 0
    expired: list[str] = []
    failures: list[str] = []
    deadline = time.monotonic() + soak
    try:
        while time.monotonic() < deadline:
            for source in (managed, own):
                response = await partner.vend(source["id"])
                if response.status_code != 200:
                    failures.append(f"{source['id']}: {response.status_code} {response.text[:200]}")
                    continue
                handed_out += 1
                state = await _introspect(oidc, response.json()["access_token"])
                if state.get("active") is not True or int(state.get("exp", 0)) <= time.time():  # type: ignore[call-overload]
                    expired.append(f"{source['id']}: {state}")
            await asyncio.sleep(0.25)
    finally:
        stop.set()
        await worker

    stats = oidc.stats()
    assert failures == []
    assert expired == []
    assert handed_out > soak * 2  # the partner really asked all along
    assert stats["reuse_detected"] == 0
    assert stats["invalid_grant"] == 0
    # Both credentials were refreshed about every five seconds (half of a 10 s lifetime).
    assert stats["refresh_success"] >= 2 * soak / 10
    for source in (managed, own):
        assert (await partner.health(source["id"]))["status"] in ("valid", "refreshing")
