"""Fixtures for tests against a real OAuth provider (npm oidc-provider on loopback).

One provider per test process (xdist worker); tests reset its counters. Lockstitch is set up the
way an operator would point the generic ``oauth2`` provider at their own authorization server:
endpoints, issuer and the managed app's client in ``[oauth.providers.oauth2]``.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from lockstitch.context import Context
from tests.conftest import AccountHandle, MakeAccount, MakeContext, api_client
from tests.oauth_server.harness import (
    OidcProvider,
    authorize_async,
    obtain_refresh_token_async,
)

PUBLIC_URL = "http://lockstitch.test"
CALLBACK = f"{PUBLIC_URL}/oauth/callback"
RETURN = "https://partner.example.com/connected"


def oauth_settings(provider: OidcProvider, token_url: str | None = None, **oauth: Any) -> dict[str, Any]:
    managed = provider.client("managed")
    return {
        "public_url": PUBLIC_URL,
        "oauth": {
            "providers": {
                "oauth2": {
                    "authorization_url": provider.authorization_endpoint,
                    "token_url": token_url or provider.token_endpoint,
                    # Tells whether an interrupted refresh spent its token (oauth.in_flight).
                    "introspection_url": provider.introspection_endpoint,
                    "issuer": provider.issuer,
                    "client_id": managed.client_id,
                    "client_secret": managed.client_secret,
                    "scopes": ["openid", "offline_access", "api:read"],
                }
            },
            **oauth,
        },
    }


@pytest.fixture
def oauth_ctx(make_ctx: MakeContext, oidc: OidcProvider) -> Context:
    oidc.reset()
    return make_ctx(**oauth_settings(oidc))


def rest_source_body(token_url: str, name: str | None = None, **properties: Any) -> dict[str, Any]:
    return {
        "type": "lockstitch.rest-api",
        "display_name": name or f"API {secrets.token_hex(4)}",
        "properties": {
            "api_url": "http://127.0.0.1:9/api",
            "token_url": token_url,
            "streams": [{"name": "items", "path": "/items", "records_path": "$.items[*]"}],
            **properties,
        },
    }


@dataclass
class Partner:
    """A partner's app talking to Lockstitch: an account, its API client, a scoped token."""

    account: AccountHandle
    http: httpx.AsyncClient
    vending_headers: dict[str, str]

    async def create(self, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.http.post("/v4/sources", headers=self.account.headers, json=body)
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def source(self, source_id: int) -> dict[str, Any]:
        return dict((await self.http.get(f"/v4/sources/{source_id}", headers=self.account.headers)).json())

    async def health(self, source_id: int) -> dict[str, Any]:
        response = await self.http.get(f"/v4/sources/{source_id}/credentials", headers=self.account.headers)
        return dict(response.json())

    async def managed_handshake(self, provider: OidcProvider, source_id: int) -> dict[str, list[str]]:
        started = await self.http.post(
            f"/v4/sources/{source_id}/oauth/authorize",
            headers=self.account.headers,
            json={"return_url": RETURN},
        )
        assert started.status_code == 200, started.text
        redirect = await authorize_async(started.json()["authorization_url"])
        callback = urlsplit(redirect["redirect_url"])
        assert f"{callback.scheme}://{callback.netloc}{callback.path}" == CALLBACK
        done = await self.http.get(f"/oauth/callback?{callback.query}")
        assert done.status_code == 303, done.text
        assert done.headers["referrer-policy"] == "no-referrer"
        return parse_qs(urlsplit(done.headers["location"]).query)

    async def bring_own(self, provider: OidcProvider, source_id: int) -> dict[str, Any]:
        byo = provider.client("byo")
        tokens = await obtain_refresh_token_async(provider, byo.client_id, byo.client_secret, CALLBACK)
        response = await self.http.put(
            f"/v4/sources/{source_id}",
            headers=self.account.headers,
            json={
                "properties": {
                    "client_id": byo.client_id,
                    "client_secret": byo.client_secret,
                    "refresh_token": tokens["refresh_token"],
                    "client_auth_method": "body",
                }
            },
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def vend(self, source_id: int, **params: Any) -> httpx.Response:
        return await self.http.post(
            f"/v4/sources/{source_id}/credentials/access-token", headers=self.vending_headers, params=params
        )


@pytest.fixture
async def partner(oauth_ctx: Context, make_account: MakeAccount) -> AsyncIterator[Partner]:
    from lockstitch.accounts import service as accounts  # noqa: PLC0415

    who = await make_account()
    async with oauth_ctx.db.unit_of_work() as session:
        scoped = await accounts.issue_token(
            session, who.id, name="vending", scopes=frozenset({"credentials:read"})
        )
    async with api_client(oauth_ctx) as http:
        await http.put(
            "/v4/account/return-origins",
            headers=who.headers,
            json={"origins": ["https://partner.example.com"]},
        )
        yield Partner(who, http, {"Authorization": f"Bearer {scoped}"})


def process_env(ctx: Context, config_path: Any, **extra: str) -> dict[str, str]:
    """Environment for a separate Lockstitch process sharing ``ctx``'s database and settings."""
    import json  # noqa: PLC0415
    import os  # noqa: PLC0415

    settings = ctx.settings
    oauth = settings.oauth.providers["oauth2"]
    assert oauth.client_secret is not None
    lines = [
        f"env = {json.dumps(settings.env)}",
        f"home = {json.dumps(str(settings.home))}",
        f"database_url = {json.dumps(settings.database)}",
        f"encryption_keys = {json.dumps(settings.encryption_keys)}",
        f"source_type_dirs = {json.dumps([str(d) for d in settings.source_type_dirs])}",
        f"public_url = {json.dumps(settings.public_url)}",
        "worker_poll_seconds = 0.2",
        "[oauth]",
        f"lease_seconds = {settings.oauth.lease_seconds}",
        f"reauth_confirm_seconds = {settings.oauth.reauth_confirm_seconds}",
        f"refresh_concurrency = {settings.oauth.refresh_concurrency}",
        f"http_timeout_seconds = {settings.oauth.http_timeout_seconds}",
        "[oauth.providers.oauth2]",
        f"authorization_url = {json.dumps(oauth.authorization_url)}",
        f"token_url = {json.dumps(oauth.token_url)}",
        f"introspection_url = {json.dumps(oauth.introspection_url)}",
        f"issuer = {json.dumps(oauth.issuer)}",
        f"client_id = {json.dumps(oauth.client_id)}",
        f"client_secret = {json.dumps(oauth.client_secret.get_secret_value())}",
        "[network]",
        f"allowed_cidrs = {json.dumps(settings.network.allowed_cidrs)}",
    ]
    config_path.write_text("\n".join(lines) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCKSTITCH_")}
    env.update({"LOCKSTITCH_CONFIG": str(config_path), **extra})
    return env


async def provider_stats(
    provider: OidcProvider, *, refreshes_at_least: int, within: float = 120
) -> dict[str, int]:
    """The provider's counters once they show ``refreshes_at_least`` successful refreshes.

    oidc-provider counts a refresh as it finishes its answer, so its books can trail a client
    that already stored the answer by a moment. Its counters only grow: waiting for them to reach
    what Lockstitch stored never hides a surplus (a refresh the provider answered that was not
    stored), which the caller's equality then catches.
    """
    deadline = asyncio.get_running_loop().time() + within
    while True:
        stats = provider.stats()
        if stats["refresh_success"] >= refreshes_at_least or asyncio.get_running_loop().time() > deadline:
            return stats
        await asyncio.sleep(0.1)


async def managed_sources(partner: Partner, provider: OidcProvider, count: int, batch: int = 20) -> list[int]:
    """``count`` rest-api sources through the managed handshake, ``batch`` at a time."""
    ids: list[int] = []
    for start in range(0, count, batch):
        created = await asyncio.gather(
            *(
                partner.create(rest_source_body(provider.token_endpoint, name=f"S{n}"))
                for n in range(start, min(start + batch, count))
            )
        )
        await asyncio.gather(*(partner.managed_handshake(provider, s["id"]) for s in created))
        ids += [s["id"] for s in created]
    return ids
