"""No token, secret or authorization code appears in any response (but the vending
endpoint's access token), in any log line (tracebacks included) or in the database file.

A real server (embedded worker, debug logs) does everything OAuth: a managed handshake, a
partner's own credentials, background refreshes of 10-second tokens, vending, a revoked grant
(needs_reauth, a failed check), abusive callbacks. Every secret that existed is collected: what
crossed the token endpoint (a proxy in front of it records them in clear), the codes of the
consent redirects, the client secrets. None may appear anywhere it should not.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.e2e.processes import Server, cli
from tests.e2e.test_secrets import _database_text
from tests.oauth_server.harness import FaultProxy, OidcProvider, authorize_async, obtain_refresh_token_async

pytestmark = pytest.mark.slow


def _config(env: dict[str, str], tmp_path: Path, oidc: OidcProvider, token_url: str, public_url: str) -> Path:
    managed = oidc.client("managed")
    path = tmp_path / "lockstitch.toml"
    path.write_text(
        "\n".join(
            [
                f'public_url = "{public_url}"',
                "worker_poll_seconds = 0.2",
                "[oauth]",
                "reauth_confirm_seconds = 0.5",
                "[oauth.providers.oauth2]",
                f'authorization_url = "{oidc.authorization_endpoint}"',
                f'token_url = "{token_url}"',
                f'issuer = "{oidc.issuer}"',
                f'client_id = "{managed.client_id}"',
                f'client_secret = "{managed.client_secret}"',
                'scopes = ["openid", "offline_access", "api:read"]',
            ]
        )
        + "\n"
    )
    return path


async def test_no_secret_leaks(lockstitch_env: dict[str, str], tmp_path: Path, oidc: OidcProvider) -> None:
    async with FaultProxy(oidc.issuer, paths=["/token"]) as proxy:
        server = Server(lockstitch_env, tmp_path / "server.log")
        callback = f"{server.url}/oauth/callback"
        registered = {client: list(oidc.client(client).redirect_uris) for client in ("managed", "byo")}
        for client, uris in registered.items():  # the provider is shared: add, and put back after
            oidc.set_redirect_uris(client, [*uris, callback])
        token_url = proxy.url_for(oidc.token_endpoint)
        env = {
            **lockstitch_env,
            "LOCKSTITCH_CONFIG": str(_config(lockstitch_env, tmp_path, oidc, token_url, server.url)),
        }
        server.env = env
        account = json.loads(
            cli(env, "accounts", "create", "--email", "o@example.com", "--company", "O", "--json").stdout
        )
        vending = json.loads(
            cli(
                env,
                "tokens",
                "create",
                "--account",
                str(account["stitch_account_id"]),
                "--scope",
                "credentials:read",
                "--json",
            ).stdout
        )
        canaries: set[str] = {oidc.client("managed").client_secret, oidc.client("byo").client_secret}
        bodies: list[str] = []
        vended: list[tuple[str, str]] = []
        server.start()
        try:
            async with httpx.AsyncClient(
                base_url=server.url,
                headers={"Authorization": f"Bearer {account['access_token']}"},
                timeout=30,
            ) as http:

                async def call(method: str, path: str, **kwargs: object) -> httpx.Response:
                    response = await http.request(method, path, **kwargs)  # type: ignore[arg-type]
                    bodies.append(response.text + json.dumps(dict(response.headers)))
                    assert response.status_code < 500, response.text
                    return response

                await call(
                    "PUT", "/v4/account/return-origins", json={"origins": ["https://partner.example.com"]}
                )
                body = {
                    "type": "lockstitch.rest-api",
                    "display_name": "Managed",
                    "properties": {
                        "api_url": "http://127.0.0.1:9/api",
                        "token_url": token_url,
                        "streams": [{"name": "items", "path": "/items"}],
                    },
                }
                managed = (await call("POST", "/v4/sources", json=body)).json()
                start = await call(
                    "POST",
                    f"/v4/sources/{managed['id']}/oauth/authorize",
                    json={"return_url": "https://partner.example.com/cb"},
                )
                redirect = await authorize_async(start.json()["authorization_url"])
                assert "code" in redirect, redirect
                canaries.add(redirect["code"])
                done = await call(
                    "GET",
                    urlsplit(redirect["redirect_url"]).path + "?" + urlsplit(redirect["redirect_url"]).query,
                )
                assert parse_qs(urlsplit(done.headers["location"]).query)["status"] == ["succeeded"]
                replay = await call("GET", "/oauth/callback?" + urlsplit(redirect["redirect_url"]).query)
                assert replay.status_code == 400

                byo = oidc.client("byo")
                tokens = await obtain_refresh_token_async(oidc, byo.client_id, byo.client_secret, callback)
                canaries.update(
                    {tokens["refresh_token"], tokens["access_token"], tokens.get("id_token", "")} - {""}
                )
                own = (
                    await call(
                        "POST",
                        "/v4/sources",
                        json={
                            **body,
                            "display_name": "Own",
                            "properties": {
                                **body["properties"],
                                "client_id": byo.client_id,
                                "client_secret": byo.client_secret,
                                "refresh_token": tokens["refresh_token"],
                                "client_auth_method": "body",
                            },
                        },
                    )
                ).json()
                await asyncio.sleep(12)  # the embedded worker validates and refreshes (10 s tokens)
                for source in (managed, own):
                    await call("GET", f"/v4/sources/{source['id']}")
                    await call("GET", f"/v4/sources/{source['id']}/credentials")
                    response = await http.post(
                        f"/v4/sources/{source['id']}/credentials/access-token",
                        headers={"Authorization": f"Bearer {vending['access_token']}"},
                    )
                    assert response.status_code == 200, response.text
                    vended.append((response.json()["access_token"], response.text))

                # A refresh token the provider does not know: the worker finds out, the check
                # fails with the provider's reason, nothing leaks.
                await call(
                    "PUT",
                    f"/v4/sources/{own['id']}",
                    json={"properties": {"refresh_token": "stale-" + tokens["refresh_token"]}},
                )
                canaries.add("stale-" + tokens["refresh_token"])
                deadline = time.monotonic() + 30
                while (await call("GET", f"/v4/sources/{own['id']}/credentials")).json()[
                    "status"
                ] != "needs_reauth":
                    assert time.monotonic() < deadline
                    await asyncio.sleep(0.5)
                await call("GET", f"/v4/sources/{own['id']}/last-connection-check")
                await call("GET", "/v4/sources")
                await call("GET", "/oauth/callback", params={"state": "x" * 43, "code": "made-up-code-value"})
        finally:
            server.stop()
            for client, uris in registered.items():
                oidc.set_redirect_uris(client, uris)
        canaries |= proxy.secrets_seen

    assert len(canaries) > 10  # tokens were really issued and rotated during the run
    log = server.log
    assert "refresh failed" in log  # the log is real and saw the failures
    leaks = {c for c in canaries if any(c in body for body in bodies)}
    assert leaks == set()
    for token, text in vended:  # the vending answer holds its own token and nothing else secret
        assert {c for c in canaries - {token} if c in text} == set()
    assert {c for c in canaries if c in log} == set()
    database = await _database_text(lockstitch_env)
    assert {c for c in canaries if c.encode() in database} == set()
