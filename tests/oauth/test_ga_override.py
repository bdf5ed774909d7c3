"""The configure-OAuth guide's source, end to end on this machine (issue 4, done-when 3).

Google's servers cannot be reached from here, so an operator does what an operator would: an
override directory replaces platform.google-analytics's tap with a local one (tap-spreadsheets
reading a report export), and the operator config points the google provider's token endpoint
at the local OAuth server. The partner follows the guide unchanged: form POST, then the PUT with
client_id, client_secret, refresh_token and view_id; Lockstitch validates the refresh token
against the provider, the check runs the tap, and the source reaches field_selection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from lockstitch.catalog.loader import PACKAGED_SOURCES, load_catalog
from lockstitch.context import Context, build_context
from tests.conftest import PLUGINS_CACHE, TEST_TYPES, AccountHandle, MakeContext, api_client, make_settings
from tests.discovery.conftest import run_checks
from tests.oauth.conftest import CALLBACK
from tests.oauth_server.harness import OidcProvider, obtain_refresh_token_async
from tests.stitch_docs import guide_blocks

pytestmark = pytest.mark.slow
GA = "platform.google-analytics"


def _override_dir(root: Path) -> Path:
    """An operator directory: GA's card untouched, its tap replaced by a local one."""
    export = root / "exports" / "ga_report.csv"
    export.parent.mkdir(parents=True)
    export.write_text("ga_date,ga_sessions,ga_users\n20240101,120,80\n20240102,140,95\n")
    definition = yaml.safe_load((PACKAGED_SOURCES / f"{GA}.yaml").read_text())
    definition["tap"] = {
        "package": "tap-spreadsheets",
        "version": "1.1.2",
        "executable": "tap-spreadsheets",
        "sdk": True,
        "settings": {"files": [{"path": str(export), "format": "csv", "table_name": "report"}]},
    }
    types = root / "types"
    types.mkdir()
    (types / f"{GA}.yaml").write_text(yaml.safe_dump(definition))
    return types


@pytest.fixture
async def ga_ctx(
    make_ctx: MakeContext, migrated: str, tmp_path: Path, oidc: OidcProvider
) -> AsyncIterator[Context]:
    make_ctx()  # the test database is emptied afterwards
    overrides = _override_dir(tmp_path / "operator")
    settings = make_settings(
        migrated,
        tmp_path,
        source_type_dirs=[TEST_TYPES, overrides],
        runner={"plugins_dir": PLUGINS_CACHE},
        oauth={"providers": {"google": {"token_url": oidc.token_endpoint}}},
    )
    ctx = build_context(settings, catalog=load_catalog(settings.source_type_dirs))
    yield ctx
    await ctx.close()


async def test_the_guide_source_reaches_field_selection(
    ga_ctx: Context, account: AccountHandle, oidc: OidcProvider
) -> None:
    _, _, put_body, guide_source = guide_blocks()
    oidc.reset()
    byo = oidc.client("byo")
    tokens = await obtain_refresh_token_async(oidc, byo.client_id, byo.client_secret, CALLBACK)
    async with api_client(ga_ctx) as client:
        form = {
            k: guide_source["properties"][k]
            for k in ("start_date", "frequency_in_minutes", "report_definitions")
        }
        created = await client.post(
            "/v4/sources",
            headers=account.headers,
            json={"type": GA, "display_name": "Google Analytics", "properties": form},
        )
        assert created.status_code == 200, created.text
        source_id = created.json()["id"]
        assert created.json()["report_card"]["current_step_type"] == "oauth"

        # The guide's PUT, with credentials the (local) provider really issued.
        body = {
            "properties": {
                **put_body["properties"],
                "client_id": byo.client_id,
                "client_secret": byo.client_secret,
                "refresh_token": tokens["refresh_token"],
            }
        }
        updated = await client.put(f"/v4/sources/{source_id}", headers=account.headers, json=body)
        assert updated.status_code == 200, updated.text
        assert updated.json()["report_card"]["current_step_type"] == "discover_schema"

        await run_checks(ga_ctx)

        check = (
            await client.get(f"/v4/sources/{source_id}/last-connection-check", headers=account.headers)
        ).json()
        assert (check["status"], check["discovery_exit_status"]) == ("succeeded", 0), check
        source = (await client.get(f"/v4/sources/{source_id}", headers=account.headers)).json()
        assert (source["report_card"]["current_step"], source["report_card"]["current_step_type"]) == (
            4,
            "field_selection",
        )
        assert source["properties"]["view_id"] == put_body["properties"]["view_id"]
        streams = (await client.get(f"/v4/sources/{source_id}/streams", headers=account.headers)).json()
        assert [s["tap_stream_id"] for s in streams] == ["report"]
        health = (await client.get(f"/v4/sources/{source_id}/credentials", headers=account.headers)).json()
        assert health["status"] == "valid"
    assert oidc.stats()["refresh_requests"] == 1  # the refresh token was validated at the provider, once
