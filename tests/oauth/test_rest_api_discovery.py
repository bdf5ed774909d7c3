"""lockstitch.rest-api discovery against a REST API whose bearer tokens oidc-provider issues and
introspects: the check's tap (tap-rest-api-msdk) gets the access token Lockstitch keeps fresh;
after the user revokes the grant at the provider, the check fails with a clear message and the
source's credentials read needs_reauth."""

from __future__ import annotations

from typing import Any

import pytest

from lockstitch.context import Context
from tests.discovery.conftest import run_checks
from tests.discovery.rest_api import serve_rest_api
from tests.oauth.conftest import Partner, rest_source_body
from tests.oauth_server.harness import OidcProvider

pytestmark = pytest.mark.slow
STREAMS = [
    {
        "name": "items",
        "path": "/items",
        "records_path": "$.items[*]",
        "primary_keys": ["id"],
        "replication_key": "updated_at",
    }
]


async def _check(partner: Partner, source_id: int) -> dict[str, Any]:
    response = await partner.http.get(
        f"/v4/sources/{source_id}/last-connection-check", headers=partner.account.headers
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_discovery_uses_the_token_lockstitch_keeps(
    oauth_ctx: Context, partner: Partner, oidc: OidcProvider
) -> None:
    with serve_rest_api(oidc) as api:
        created = await partner.create(
            rest_source_body(oidc.token_endpoint, api_url=api.url, streams=STREAMS)
        )
        assert created["report_card"]["current_step_type"] == "oauth"
        await partner.managed_handshake(oidc, created["id"])
        assert (await partner.source(created["id"]))["report_card"]["current_step_type"] == "discover_schema"
        await run_checks(oauth_ctx)

    check = await _check(partner, created["id"])
    outcome = (check["status"], check["discovery_exit_status"], check["error"])
    assert outcome == ("succeeded", 0, False), check["discovery_error_message"]
    assert api.seen, "discovery asked the API for records to infer the schema"
    assert api.rejected == 0
    source = await partner.source(created["id"])
    assert source["report_card"]["current_step_type"] == "field_selection"
    streams = (
        await partner.http.get(f"/v4/sources/{created['id']}/streams", headers=partner.account.headers)
    ).json()
    assert [s["tap_stream_id"] for s in streams] == ["items"]


async def test_a_revoked_grant_fails_the_check_and_needs_reauth(
    oauth_ctx: Context, partner: Partner, oidc: OidcProvider
) -> None:
    with serve_rest_api(oidc) as api:
        created = await partner.create(
            rest_source_body(oidc.token_endpoint, api_url=api.url, streams=STREAMS)
        )
        await partner.managed_handshake(oidc, created["id"])
        vended = await partner.vend(created["id"])
        assert vended.status_code == 200, vended.text
        # The end user removes the app's access at the provider: every token of the grant dies.
        oidc.revoke_grant(access_token=vended.json()["access_token"])
        await run_checks(oauth_ctx)

    check = await _check(partner, created["id"])
    assert (check["status"], check["error"]) == ("failed", True)
    assert check["discovery_exit_status"] not in (None, 0)
    message = check["discovery_error_message"]
    assert "re-authorization" in message, message
    assert api.rejected >= 1
    health = await partner.health(created["id"])
    assert health["status"] == "needs_reauth"
    source = await partner.source(created["id"])
    assert source["system_paused_at"] is not None
    assert source["report_card"]["current_step_type"] == "discover_schema"
