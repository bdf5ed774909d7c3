"""Failing connection checks, one per cause a user meets: wrong password, unreachable host, a
tap that crashes, a plugin that cannot install. Each ends with the documented Connection Check
body, a message that says what went wrong (and no secret), and the source still at
discover_schema."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from lockstitch.catalog.loader import load_catalog
from lockstitch.context import Context, build_context
from lockstitch.kit.outbound import unreachable
from tests.conftest import (
    PLUGINS_CACHE,
    REPO,
    TEST_TYPES,
    AccountHandle,
    MakeContext,
    api_client,
    make_settings,
)
from tests.discovery.conftest import MARIADB_USER, run_checks
from tests.stitch_docs import doc_example

pytestmark = pytest.mark.slow
FAILING_TYPES = REPO / "tests" / "fixtures" / "failing_types"
WRONG_PASSWORD = "wrong-password-9d3f1c"


@pytest.fixture
async def failing_ctx(make_ctx: MakeContext, migrated: str, tmp_path: Path) -> AsyncIterator[Context]:
    make_ctx()  # the test database is emptied afterwards
    settings = make_settings(
        migrated, tmp_path, runner={"plugins_dir": PLUGINS_CACHE, "check_concurrency": 4}
    )
    ctx = build_context(settings, catalog=load_catalog([TEST_TYPES, FAILING_TYPES]))
    yield ctx
    await ctx.close()


async def test_each_failure_gives_a_useful_check(
    failing_ctx: Context, account: AccountHandle, source_mariadb: str
) -> None:
    bodies: dict[str, dict[str, Any]] = {
        "wrong password": {
            "type": "platform.hp-mysql",
            "properties": {
                "host": "127.0.0.1",
                "port": "3306",
                "user": MARIADB_USER,
                "password": WRONG_PASSWORD,
                "dbname": source_mariadb,
            },
        },
        "unreachable host": {
            "type": "platform.hp-postgres",
            "properties": {
                "host": "127.0.0.1",
                "port": "1",
                "user": "postgres",
                "password": "x-x-x",
                "dbname": "nope",
            },
        },
        "tap crash": {"type": "lockstitch.test-crash", "properties": {}},
        "cannot install": {"type": "lockstitch.test-uninstallable", "properties": {}},
    }
    async with api_client(failing_ctx) as client:
        ids = {}
        for case, body in bodies.items():
            response = await client.post(
                "/v4/sources", headers=account.headers, json={**body, "display_name": f"Case {case}"}
            )
            assert response.status_code == 200, response.text
            assert response.json()["report_card"]["current_step_type"] == "discover_schema"
            ids[case] = response.json()["id"]

        await run_checks(failing_ctx)

        checks = {}
        for case, source_id in ids.items():
            response = await client.get(
                f"/v4/sources/{source_id}/last-connection-check", headers=account.headers
            )
            assert response.status_code == 200
            checks[case] = response.json()
            source = (await client.get(f"/v4/sources/{source_id}", headers=account.headers)).json()
            assert source["report_card"]["current_step_type"] == "discover_schema", case

    example = doc_example("connection-checks/connection-check-object-v4")
    for case, check in checks.items():
        assert set(check) == set(example), case
        assert (check["status"], check["error"], check["mode"]) == ("failed", True, "check"), (case, check)
        assert check["completion_time"] is not None
        assert WRONG_PASSWORD not in str(check)

    assert checks["wrong password"]["discovery_exit_status"] == 1
    assert "Access denied for user 'lockstitch_tap'" in checks["wrong password"]["discovery_error_message"]
    assert checks["unreachable host"]["discovery_exit_status"] == 1
    # The tap's own words ("Connection refused") would tell a closed port from an open one.
    assert checks["unreachable host"]["discovery_error_message"] == unreachable()
    assert checks["tap crash"]["discovery_exit_status"] == 1
    assert checks["tap crash"]["discovery_error_message"] == "KeyError: 'format'"
    uninstallable = checks["cannot install"]
    assert (uninstallable["check_exit_status"], uninstallable["discovery_exit_status"]) == (1, None)
    message = uninstallable["discovery_error_message"]
    assert message.startswith("the tap could not be installed:"), message
    assert "No matching distribution found for tap-lockstitch-does-not-exist==0.0.1" in message
