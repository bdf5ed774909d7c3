"""Managed handshake and bring-your-own credentials against a real OAuth server (oidc-provider,
rotating refresh tokens with reuse detection, 10-second access tokens)."""

from __future__ import annotations

import asyncio

from sqlalchemy import select, update

from lockstitch.context import Context
from lockstitch.models import AuditEntry
from lockstitch.oauth.lifecycle import TokenEngine
from lockstitch.oauth.repository import CredentialRepository
from tests.oauth.conftest import Partner, rest_source_body
from tests.oauth_server.harness import OidcProvider


def _oauth_provided(source: dict[str, object]) -> dict[str, bool]:
    steps = source["report_card"]["steps"]  # type: ignore[index]
    step = next(s for s in steps if s["type"] == "oauth")
    return {p["name"]: p["provided"] for p in step["properties"]}


async def _credential_id(ctx: Context, account_id: int, source_id: int) -> int:
    async with ctx.db.read() as session:
        credential = await CredentialRepository(session).for_source(account_id, source_id)
    assert credential is not None
    return credential.id


async def test_managed_handshake_reaches_discover_schema(
    oauth_ctx: Context, oidc: OidcProvider, partner: Partner
) -> None:
    source = await partner.create(rest_source_body(oidc.token_endpoint))
    assert source["report_card"]["current_step_type"] == "oauth"
    result = await partner.managed_handshake(oidc, source["id"])
    assert result["status"] == ["succeeded"]
    assert result["source_id"] == [str(source["id"])]
    after = await partner.source(source["id"])
    assert after["report_card"]["current_step_type"] == "discover_schema"
    assert all(_oauth_provided(after).values())
    health = await partner.health(source["id"])
    assert (health["status"], health["app"]) == ("valid", "managed")
    assert oidc.stats()["code_exchanges"] == 1

    # The vended token is a live one at the provider.
    vended = await partner.vend(source["id"])
    assert vended.status_code == 200, vended.text
    assert vended.headers["cache-control"] == "no-store"
    introspection = await asyncio.to_thread(_introspect, oidc, vended.json()["access_token"])
    assert introspection["active"] is True


async def test_bring_your_own_is_validated_by_a_first_refresh(
    oauth_ctx: Context, oidc: OidcProvider, partner: Partner
) -> None:
    source = await partner.create(rest_source_body(oidc.token_endpoint))
    put = await partner.bring_own(oidc, source["id"])
    assert put["report_card"]["current_step_type"] == "discover_schema"
    for secret in ("client_id", "client_secret", "refresh_token"):
        assert secret not in put["properties"]
    assert (await partner.health(source["id"]))["status"] == "pending"

    engine = TokenEngine(oauth_ctx, "worker-a")
    assert await engine.refresh_due() == 1  # due at once: validation
    health = await partner.health(source["id"])
    assert (health["status"], health["app"]) == ("valid", "source")
    stats = oidc.stats()
    assert stats["refresh_success"] == 1
    assert stats["reuse_detected"] == 0
    check = (
        await partner.http.get(
            f"/v4/sources/{source['id']}/last-connection-check", headers=partner.account.headers
        )
    ).json()
    assert check["status"] == "running"  # validation passed; the check waits for the runner


async def test_bring_your_own_with_a_dead_token_fails_the_check(
    oauth_ctx: Context, oidc: OidcProvider, partner: Partner
) -> None:
    byo = oidc.client("byo")
    source = await partner.create(
        rest_source_body(
            oidc.token_endpoint,
            client_id=byo.client_id,
            client_secret=byo.client_secret,
            refresh_token="not-a-refresh-token-from-this-provider",
            client_auth_method="body",
        )
    )
    engine = TokenEngine(oauth_ctx, "worker-a")
    credential_id = await _credential_id(oauth_ctx, partner.account.id, source["id"])
    assert await engine.refresh_if_due(credential_id) == "reauth"
    # The confirming attempt waits a few seconds, however urgently a token is wanted.
    assert await engine.refresh_if_due(credential_id, within=60) == "not_needed"
    assert (await partner.vend(source["id"])).status_code == 503
    async with oauth_ctx.db.unit_of_work() as session:  # skip the confirmation delay
        credential = await CredentialRepository(session).get(credential_id)
        assert credential is not None
        credential.refresh_due_at = credential.updated_at
    assert await engine.refresh_if_due(credential_id) == "reauth"
    health = await partner.health(source["id"])
    assert health["status"] == "needs_reauth"
    check = (
        await partner.http.get(
            f"/v4/sources/{source['id']}/last-connection-check", headers=partner.account.headers
        )
    ).json()
    assert check["status"] == "failed"
    assert check["error"] is True
    assert "invalid_grant" in check["discovery_error_message"]
    assert byo.client_secret not in check["discovery_error_message"]
    assert (await partner.source(source["id"]))["system_paused_at"] is not None


async def test_wrong_client_secret_marks_own_app_invalid(
    oauth_ctx: Context, oidc: OidcProvider, partner: Partner
) -> None:
    source = await partner.create(rest_source_body(oidc.token_endpoint))
    await partner.bring_own(oidc, source["id"])
    await partner.http.put(
        f"/v4/sources/{source['id']}",
        headers=partner.account.headers,
        json={"properties": {"client_secret": "wrong"}},
    )
    engine = TokenEngine(oauth_ctx, "worker-a")
    await engine.refresh_due()
    health = await partner.health(source["id"])
    assert health["status"] == "invalid_client"
    assert health["last_error"]["class"] == "client"


async def test_vending_needs_the_scope_and_is_audited(
    oauth_ctx: Context, oidc: OidcProvider, partner: Partner
) -> None:
    source = await partner.create(rest_source_body(oidc.token_endpoint))
    await partner.managed_handshake(oidc, source["id"])
    plain = await partner.http.post(
        f"/v4/sources/{source['id']}/credentials/access-token", headers=partner.account.headers
    )
    assert plain.status_code == 403
    assert plain.json()["error"] == "AccessDenied"
    for _ in range(3):
        assert (await partner.vend(source["id"])).status_code == 200
    async with oauth_ctx.db.read() as session:
        audited = list(await session.scalars(select(AuditEntry)))
    assert len(audited) == 3
    assert {a.action for a in audited} == {"credentials.access_token"}
    assert {a.source_id for a in audited} == {source["id"]}


def _introspect(provider: OidcProvider, token: str) -> dict[str, object]:
    from tests.oauth_server.harness import token_request  # noqa: PLC0415

    api = provider.client("api")
    response = token_request(
        provider.introspection_endpoint, api.client_id, api.client_secret, {"token": token}
    )
    return dict(response.json())


async def test_handshake_abuse_is_refused(make_ctx: object, oidc: OidcProvider, partner: Partner) -> None:
    """Expired and cross-source states, replays and PKCE mismatches end in a clear failure and
    change nothing."""
    from urllib.parse import parse_qs, urlsplit  # noqa: PLC0415

    from tests.oauth_server.harness import authorize_async  # noqa: PLC0415

    first = await partner.create(rest_source_body(oidc.token_endpoint, name="First"))
    second = await partner.create(rest_source_body(oidc.token_endpoint, name="Second"))

    async def consent(source_id: int) -> dict[str, str]:
        started = await partner.http.post(
            f"/v4/sources/{source_id}/oauth/authorize",
            headers=partner.account.headers,
            json={"return_url": "https://partner.example.com/cb"},
        )
        return await authorize_async(started.json()["authorization_url"])

    def result(response: object) -> dict[str, list[str]]:
        return parse_qs(urlsplit(response.headers["location"]).query)  # type: ignore[attr-defined]

    # Cross-source: the first source's code with the second source's state. The code was bound
    # to the first handshake's PKCE challenge, so the exchange fails; neither source changes.
    a, b = await consent(first["id"]), await consent(second["id"])
    crossed = await partner.http.get(
        "/oauth/callback", params={"state": b["state"], "code": a["code"], "iss": a["iss"]}
    )
    assert result(crossed) == {
        "source_id": [str(second["id"])],
        "status": ["failed"],
        "error": ["invalid_grant"],
    }
    # The second state is spent: a replay (even with its own code) is refused with a page.
    assert (
        await partner.http.get("/oauth/callback", params={"state": b["state"], "code": b["code"]})
    ).status_code == 400
    assert (await partner.source(second["id"]))["report_card"]["current_step_type"] == "oauth"
    assert (await partner.health(second["id"]))["error"] == "NotFound"
    # The first handshake was not disturbed: its own callback still completes, for its own source.
    own = await partner.http.get(
        "/oauth/callback", params={"state": a["state"], "code": a["code"], "iss": a["iss"]}
    )
    assert result(own) == {"source_id": [str(first["id"])], "status": ["succeeded"]}
    assert (await partner.health(first["id"]))["status"] == "valid"
    assert oidc.stats()["code_exchanges"] == 1


async def test_expired_state_is_refused(make_ctx: object, oidc: OidcProvider, partner: Partner) -> None:
    from lockstitch.kit.time import utcnow  # noqa: PLC0415
    from lockstitch.models import OAuthState  # noqa: PLC0415
    from tests.oauth_server.harness import authorize_async  # noqa: PLC0415

    source = await partner.create(rest_source_body(oidc.token_endpoint))
    started = await partner.http.post(
        f"/v4/sources/{source['id']}/oauth/authorize",
        headers=partner.account.headers,
        json={"return_url": "https://partner.example.com/cb"},
    )
    redirect = await authorize_async(started.json()["authorization_url"])
    ctx = partner.http._transport.app.state.ctx  # type: ignore[attr-defined]
    async with ctx.db.unit_of_work() as session:  # ten minutes pass
        await session.execute(update(OAuthState).values(expires_at=utcnow()))
    late = await partner.http.get(
        "/oauth/callback", params={"state": redirect["state"], "code": redirect["code"]}
    )
    assert late.status_code == 400
    assert "expired" in late.text
    assert (await partner.source(source["id"]))["report_card"]["current_step_type"] == "oauth"


async def test_metrics(oauth_ctx: Context, oidc: OidcProvider, partner: Partner) -> None:
    source = await partner.create(rest_source_body(oidc.token_endpoint))
    await partner.managed_handshake(oidc, source["id"])
    credential_id = await _credential_id(oauth_ctx, partner.account.id, source["id"])
    assert await TokenEngine(oauth_ctx, "w").refresh_if_due(credential_id, within=3600) == "refreshed"
    text = (await partner.http.get("/metrics")).text
    lines = dict(line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
    assert float(lines['lockstitch_oauth_refreshes_total{outcome="success"}']) >= 1
    assert float(lines['lockstitch_oauth_credentials{status="valid"}']) == 1
    assert float(lines['lockstitch_oauth_credentials{status="needs_reauth"}']) == 0
    assert "lockstitch_oauth_refresh_lag_seconds_bucket" in text
    assert float(lines["lockstitch_oauth_refresh_overdue_seconds"]) == 0
