"""lockstitch.local-files: CSV files under the operator's local files root, discovered by the real
tap-spreadsheets; a path outside the root never reaches the tap."""

from __future__ import annotations

import json

import httpx
import pytest

from lockstitch.context import Context
from tests.conftest import AccountHandle
from tests.discovery.conftest import run_checks
from tests.discovery.test_hp_postgres import get_json, put_metadata, step

pytestmark = pytest.mark.slow


async def _source(client: httpx.AsyncClient, who: AccountHandle, path: str) -> int:
    response = await client.post(
        "/v4/sources",
        headers=who.headers,
        json={
            "type": "lockstitch.local-files",
            "display_name": f"Files {path}",
            "properties": {
                "path": path,
                "table_name": "people",
                "file_format": "csv",
                "key_properties": "id",
            },
        },
    )
    assert response.status_code == 200, response.text
    return int(response.json()["id"])


async def test_csv_files_become_a_stream(
    ctx: Context, client: httpx.AsyncClient, account: AccountHandle
) -> None:
    folder = ctx.settings.account_files_root(account.id) / "people"
    folder.mkdir(parents=True)
    (folder / "2024.csv").write_text("id,name,signup_date\n1,Ada,2024-01-01\n2,Grace,2024-02-01\n")
    sid = await _source(client, account, "people/*.csv")
    await run_checks(ctx)
    check = await get_json(client, account, f"/v4/sources/{sid}/last-connection-check")
    assert check["status"] == "succeeded", check
    streams = await get_json(client, account, f"/v4/sources/{sid}/streams")
    assert [s["tap_stream_id"] for s in streams] == ["people"]
    schema = await get_json(client, account, f"/v4/sources/{sid}/streams/{streams[0]['stream_id']}")
    assert {"id", "name", "signup_date"} <= set(json.loads(schema["schema"])["properties"])
    ok = await put_metadata(
        client,
        account,
        sid,
        {
            "streams": [
                {"tap_stream_id": "people", "metadata": [{"breadcrumb": [], "metadata": {"selected": True}}]}
            ]
        },
    )
    assert ok.status_code == 200, ok.text
    assert step(await get_json(client, account, f"/v4/sources/{sid}")) == (4, "fully_configured")


async def test_a_path_outside_the_root_is_refused(client: httpx.AsyncClient, account: AccountHandle) -> None:
    response = await client.post(
        "/v4/sources",
        headers=account.headers,
        json={
            "type": "lockstitch.local-files",
            "display_name": "Escape",
            "properties": {"path": "../../etc/*.csv", "table_name": "people"},
        },
    )
    assert response.status_code == 400
    assert response.json()["data"]["bad_properties"] == ["path"]


async def test_the_checks_log_says_what_ran(
    ctx: Context, client: httpx.AsyncClient, account: AccountHandle
) -> None:
    folder = ctx.settings.account_files_root(account.id) / "logs"
    folder.mkdir(parents=True)
    (folder / "a.csv").write_text("id,name\n1,Ada\n")
    sid = await _source(client, account, "logs/*.csv")
    await run_checks(ctx)
    response = await client.get(f"/v4/sources/{sid}/last-connection-check/log", headers=account.headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert "running tap-spreadsheets --discover" in text
    assert "running --test (one record per stream)" in text
    assert "discovered 1 streams" in text
    other = await client.get("/v4/sources/999999/last-connection-check/log", headers=account.headers)
    assert other.status_code == 400
