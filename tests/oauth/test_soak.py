"""Tokens stay valid for minutes with 10-second access tokens and rotating refresh
tokens: the worker keeps a managed and a bring-your-own source fresh while a partner asks for
access tokens all the time. Zero expired tokens handed out, zero reuse detections.

Runs SOAK_SECONDS: 45 s on PostgreSQL and a third of it on SQLite in `make test`; `make soak`
runs the issue's three minutes on both (LOCKSTITCH_SOAK_SECONDS, LOCKSTITCH_SOAK_SQLITE_SHARE).
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
SOAK_SECONDS = float(os.environ.get("LOCKSTITCH_SOAK_SECONDS", "45"))
# SQLite runs the same code; in `make test` it soaks for a third of the time to keep it short.
SQLITE_SHARE = float(os.environ.get("LOCKSTITCH_SOAK_SQLITE_SHARE", str(1 / 3)))


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
    tokens: dict[int, set[str]] = {managed["id"]: set(), own["id"]: set()}
    started = time.monotonic()
    deadline = started + soak
    try:
        while time.monotonic() < deadline:
            for source in (managed, own):
                response = await partner.vend(source["id"])
                if response.status_code != 200:
                    failures.append(f"{source['id']}: {response.status_code} {response.text[:200]}")
                    continue
                handed_out += 1
                tokens[source["id"]].add(response.json()["access_token"])
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
    span = time.monotonic() - started
    assert handed_out >= 2  # the partner asked (as often as the machine let it)
    assert stats["reuse_detected"] == 0
    assert stats["invalid_grant"] == 0
    # No token outlives 10 s and none handed out was expired, so asks more than 10 s apart got
    # different tokens: the worker (or the vending itself) kept renewing them all along.
    assert span > 10
    for handed in tokens.values():
        assert len(handed) >= 2, (len(handed), span)
    for source in (managed, own):
        assert (await partner.health(source["id"]))["status"] in ("valid", "refreshing")
