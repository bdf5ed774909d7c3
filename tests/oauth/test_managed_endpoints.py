"""The operator's managed OAuth client secret goes only to the provider's configured endpoint.

Issue 8, finding 1: for a ``lockstitch.rest-api`` source with the managed ``oauth2`` app, every
refresh went to the source's own ``token_url`` property, carrying ``Authorization: Basic
<managed client_id:client_secret>`` and the refresh token; a later PUT of ``token_url`` was
accepted and the credential stayed managed. Here the partner's ``token_url`` is a server on
loopback that records what reaches it: it must see nothing, ever, while the app is managed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from lockstitch.context import Context
from lockstitch.oauth.lifecycle import TokenEngine
from lockstitch.oauth.repository import CredentialRepository
from lockstitch.oauth.vending import FORCE_WINDOW
from tests import canary
from tests.oauth.conftest import Partner, rest_source_body
from tests.oauth_server.harness import OidcProvider


@pytest.fixture
async def attacker() -> AsyncIterator[tuple[str, list[bytes]]]:
    """A token endpoint of the partner's choosing that records every request it gets."""
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.read(65536))
        writer.write(b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 27\r\n")
        writer.write(b'connection: close\r\n\r\n{"error": "invalid_grant"}\n')
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/t", seen
    server.close()
    await server.wait_closed()


async def _refresh_now(ctx: Context, account_id: int, source_id: int) -> str:
    async with ctx.db.read() as session:
        credential = await CredentialRepository(session).for_source(account_id, source_id)
    assert credential is not None
    return await TokenEngine(ctx, "worker-test").refresh_if_due(credential.id, within=FORCE_WINDOW)


async def test_managed_refreshes_never_reach_the_partners_token_url(
    oauth_ctx: Context, oidc: OidcProvider, partner: Partner, attacker: tuple[str, list[bytes]]
) -> None:
    url, seen = attacker
    source = await partner.create(rest_source_body(url))
    assert (await partner.managed_handshake(oidc, source["id"]))["status"] == ["succeeded"]
    before = oidc.stats()["refresh_success"]
    await _refresh_now(oauth_ctx, partner.account.id, source["id"])
    assert seen == [], f"the managed app's refresh reached the partner's URL: {seen[0][:120]!r}"
    assert oidc.stats()["refresh_success"] == before + 1
    health = await partner.health(source["id"])
    assert (health["status"], health["app"]) == ("valid", "managed")

    after = await partner.source(source["id"])
    # The managed app's endpoint wins; the partner's value would only mislead.
    assert "token_url" not in after["properties"]
    form = next(s for s in after["report_card"]["steps"] if s["type"] == "form")
    assert next(p for p in form["properties"] if p["name"] == "token_url")["provided"] is True


async def test_the_endpoint_of_a_managed_source_cannot_be_changed(
    oauth_ctx: Context, oidc: OidcProvider, partner: Partner, attacker: tuple[str, list[bytes]]
) -> None:
    url, seen = attacker
    source = await partner.create(rest_source_body(oidc.token_endpoint))
    await partner.managed_handshake(oidc, source["id"])
    response = await partner.http.put(
        f"/v4/sources/{source['id']}",
        headers=partner.account.headers,
        json={"properties": {"token_url": url}},
    )
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "InvalidProperties"
    assert body["data"]["bad_properties"] == ["token_url"]
    assert "managed OAuth app" in body["data"]["message"]
    assert "token_url" not in (await partner.source(source["id"]))["properties"]

    assert await _refresh_now(oauth_ctx, partner.account.id, source["id"]) == "refreshed"
    assert seen == []
    assert (await partner.health(source["id"]))["app"] == "managed"


async def test_a_partners_own_client_brings_its_own_endpoint(
    oauth_ctx: Context, oidc: OidcProvider, partner: Partner, attacker: tuple[str, list[bytes]]
) -> None:
    """With its own client_id and client_secret in the same PUT, the endpoint is the partner's,
    and its first refresh goes there (with the partner's client, never the managed one)."""
    url, seen = attacker
    canary.remember("partner-client-secret-xyz", "partner-refresh-token-xyz")
    source = await partner.create(rest_source_body(oidc.token_endpoint))
    await partner.managed_handshake(oidc, source["id"])
    managed = oidc.client("managed")
    response = await partner.http.put(
        f"/v4/sources/{source['id']}",
        headers=partner.account.headers,
        json={
            "properties": {
                "token_url": url,
                "client_id": "partner-client",
                "client_secret": "partner-client-secret-xyz",
                "refresh_token": "partner-refresh-token-xyz",
            }
        },
    )
    assert response.status_code == 200, response.text
    assert (await partner.health(source["id"]))["app"] == "source"
    await _refresh_now(oauth_ctx, partner.account.id, source["id"])
    assert len(seen) == 1
    assert managed.client_secret.encode() not in seen[0]
    assert managed.client_id.encode() not in seen[0]
    assert b"partner-refresh-token-xyz" in seen[0]
