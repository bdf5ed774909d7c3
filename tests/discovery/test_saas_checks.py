"""SaaS sources created as a partner would (a complete form, then the credentials of the oauth
step the partner fills itself) queue a check whose tap takes its config and fails only at the
network: here no provider is reachable, so the check says what a real one says when the
provider's host cannot be reached, never a tap's complaint about its config.

The types are ones docs/catalog.md lists as *config accepted*; their taps are installed into the
suite's plugin cache on first use.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from lockstitch.catalog.synthetic import synthetic_form
from lockstitch.context import Context, build_context
from lockstitch.kit.outbound import unreachable
from lockstitch.runner import catalog_report
from tests.conftest import PLUGINS_CACHE, REPO, AccountHandle, MakeContext, api_client, make_settings
from tests.discovery.conftest import run_checks

pytestmark = pytest.mark.slow
TYPES = ["platform.chargebee", "platform.closeio", "platform.mixpanel", "platform.zendesk"]
# A tap's words for a config it could not use (runner.verify's classification, stricter here).
CONFIG_ERROR = re.compile(r"keyerror|missing required|required (config|key)|invalid config", re.I)


@pytest.fixture
async def saas_ctx(make_ctx: MakeContext, migrated: str, tmp_path: Path) -> AsyncIterator[Context]:
    make_ctx()  # the test database is emptied afterwards
    settings = make_settings(
        migrated, tmp_path, runner={"plugins_dir": PLUGINS_CACHE, "check_concurrency": 2}
    )
    ctx = build_context(settings)
    yield ctx
    await ctx.close()


def test_the_types_are_config_accepted_in_the_catalogue_document() -> None:
    rows = catalog_report.parse((REPO / "docs" / "catalog.md").read_text(encoding="utf-8"))
    assert all(rows[name].outcome == "config accepted" for name in TYPES)


async def test_a_complete_saas_source_fails_its_check_at_the_network(
    saas_ctx: Context, account: AccountHandle
) -> None:
    ids: dict[str, int] = {}
    async with api_client(saas_ctx) as client:
        for name in TYPES:
            source_type = saas_ctx.catalog.source_type(name)
            assert source_type is not None
            form = synthetic_form(source_type)
            by_step: dict[str, dict[str, object]] = {}
            for prop, value in form.items():
                by_step.setdefault(source_type.properties[prop].step, {})[prop] = value
            created = await client.post(
                "/v4/sources",
                headers=account.headers,
                json={"type": name, "display_name": name, "properties": by_step.get("form", {})},
            )
            assert created.status_code == 200, created.text
            source_id = created.json()["id"]
            if "oauth" in by_step:  # the partner's own tokens, as Stitch's oauth step takes them
                put = await client.put(
                    f"/v4/sources/{source_id}", headers=account.headers, json={"properties": by_step["oauth"]}
                )
                assert put.status_code == 200, put.text
                card = put.json()["report_card"]
            else:
                card = created.json()["report_card"]
            assert card["current_step_type"] == "discover_schema", (name, card["current_step_type"])
            ids[name] = source_id

        await run_checks(saas_ctx)

        for name, source_id in ids.items():
            check = (
                await client.get(f"/v4/sources/{source_id}/last-connection-check", headers=account.headers)
            ).json()
            assert (check["status"], check["error"]) == ("failed", True), (name, check)
            message = check["discovery_error_message"] or ""
            assert not CONFIG_ERROR.search(message), (name, message)
            # No provider answers here: the uniform message for a host nobody could reach.
            assert message == unreachable(), (name, message)
