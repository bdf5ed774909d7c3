"""lockstitch.rest-api (tap-rest-api-msdk) through the managed handshake at oidc-provider, whose
access tokens live 10 seconds and whose refresh tokens rotate (reuse revokes the grant), against
a REST API that checks every bearer token at the provider and answers slowly: the run lasts
several token lifetimes. The tap renews its token mid-run through the run's token relay, so no
expired token ever reaches the API, Lockstitch refreshes (and rotates) with the provider as
needed, the provider never sees a refresh token twice, and the run succeeds."""

from __future__ import annotations

from typing import Any

import pytest

from lockstitch.context import Context
from tests.discovery.conftest import run_checks
from tests.oauth.conftest import Partner, oauth_ctx, partner, rest_source_body
from tests.oauth_server.harness import OidcProvider
from tests.replication_runs.conftest import latest, run_extractions, sync_now
from tests.replication_runs.helpers import check_log, exit_line, loads_of, saved_state, serve_slow_api

__all__ = ["oauth_ctx", "partner"]  # fixtures shared with the OAuth tests
pytestmark = pytest.mark.slow
PAGES = 11
PER_PAGE = 5
DELAY = 2.5  # seconds per page: the run takes ~30 s, three access-token lifetimes
STREAMS = [{"name": "items", "path": "/items", "records_path": "$.items[*]", "primary_keys": ["id"]}]


async def _call(partner: Partner, method: str, path: str, body: Any = None) -> Any:
    response = await partner.http.request(method, path, headers=partner.account.headers, json=body)
    assert response.status_code == 200, (path, response.text)
    return response.json()


async def test_a_run_longer_than_its_access_tokens(
    oauth_ctx: Context, partner: Partner, oidc: OidcProvider
) -> None:
    await _call(
        partner, "POST", "/v4/destinations", {"type": "lockstitch.jsonl", "name": "Out", "properties": {}}
    )
    with serve_slow_api(oidc, pages=PAGES, per_page=PER_PAGE) as api:
        created = await partner.create(
            rest_source_body(oidc.token_endpoint, api_url=api.url, streams=STREAMS)
        )
        sid = created["id"]
        await partner.managed_handshake(oidc, sid)
        await run_checks(oauth_ctx)  # discovery: one quick request for the schema
        check = await _call(partner, "GET", f"/v4/sources/{sid}/last-connection-check")
        assert check["status"] == "succeeded", check
        await _call(
            partner,
            "PUT",
            f"/v4/sources/{sid}/streams/metadata",
            {
                "streams": [
                    {
                        "tap_stream_id": "items",
                        "metadata": [
                            {"breadcrumb": [], "metadata": {"selected": True}},
                            {"breadcrumb": ["properties", "name"], "metadata": {"selected": True}},
                            {"breadcrumb": ["properties", "updated_at"], "metadata": {"selected": True}},
                        ],
                    }
                ]
            },
        )
        source = await partner.source(sid)
        assert source["report_card"]["current_step_type"] == "fully_configured"

        api.delay = DELAY
        seen_before = len(api.seen)
        before = oidc.stats()
        await sync_now(oauth_ctx, sid)
        await run_extractions(oauth_ctx)
        after = oidc.stats()
        during = api.seen[seen_before:]

    run = await latest(oauth_ctx, sid)
    assert (run.state, run.tap_exit_status, run.target_exit_status) == ("succeeded", 0, 0), (
        run.tap_description,
        run.target_description,
    )
    assert run.source_type == "tap-rest-api-msdk"
    assert run.start_time is not None
    assert run.completion_time is not None
    seconds = (run.completion_time - run.start_time).total_seconds()
    assert seconds >= 25, seconds  # longer than two access tokens live
    assert run.records == {"items": PAGES * PER_PAGE}

    # Every request of the run carried a live token; several different ones, as they expired.
    assert [s["page"] for s in during if s["stream"] == "items"][-PAGES:] == list(range(1, PAGES + 1))
    assert all(s["active"] for s in during), [s for s in during if not s["active"]]
    assert api.rejected == 0
    tokens = []
    for s in during:
        if s["token"] not in tokens:
            tokens.append(s["token"])
    assert len(tokens) >= 3, tokens
    # Lockstitch refreshed with the provider mid-run (the relay asked it for fresh tokens), and
    # every refresh used the newest refresh token.
    refreshes = after["refresh_requests"] - before["refresh_requests"]
    assert refreshes >= 2, (before, after)
    assert after["refresh_success"] - before["refresh_success"] == refreshes
    assert after["reuse_detected"] == 0
    assert after["invalid_grant"] == 0
    health = await partner.health(sid)
    assert health["status"] == "valid", health

    lines = await check_log(oauth_ctx, run, secrets=oidc.issued())
    assert exit_line(lines) == "Exit status is: Discovery succeeded. Tap succeeded. Target succeeded."
    output = (
        oauth_ctx.settings.account_warehouse(partner.account.id) / "jsonl" / source["name"] / "items.jsonl"
    )
    assert len(output.read_text().splitlines()) == PAGES * PER_PAGE
    loads = await loads_of(oauth_ctx, sid)
    assert loads["items"].error_state is None
    assert loads["items"].last_batch_loaded_at is not None
    assert await saved_state(oauth_ctx, sid) is not None
